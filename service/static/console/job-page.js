// job-page.js — a job's page: its fields, arguments, timeline (every event from its first, then
// live), result (drawn by its type: results.js), and Cancel or Retry where they can work.
import { cancelJob, createJobsWatcher, request, retryJob } from "../jobs-client.js";
import { $, badge, dateTime, duration, element, errorText, field, isFinished, showProgress, span, time } from "./dom.js";
import { renderResult, typeLabel } from "./results.js";
import { go, jobLink, readState, stateHash } from "./state.js";

let view = null; // {jobId, watcher, snapshot, last, opened, timer}
let readOnly = false;

export function closeJobView() {
  if (!view) return;
  view.watcher.close();
  clearInterval(view.timer);
  view = null;
}

function renderFields(job) {
  const list = $("#job-fields");
  list.replaceChildren();
  field(list, "Job id", element("code", { text: job.job_id }));
  field(list, "Type", job.job_type);
  field(list, "Workspace", job.workspace
    ? element("a", { href: stateHash({ ...readState(), workspace: job.workspace, job: "" }), text: job.workspace }) : "—");
  field(list, "Status", badge(job.status));
  field(list, "Message", job.message);
  field(list, "Progress", job.progress === null || job.progress === undefined ? "—" : `${Math.round(job.progress)} %`);
  field(list, "Attempt", String(job.attempt ?? 1));
  if (job.retry_at) field(list, "Next attempt at", dateTime(job.retry_at));
  field(list, "Created", dateTime(job.created_at));
  field(list, "Started", dateTime(job.started_at));
  field(list, "Finished", dateTime(job.finished_at));
  field(list, "Duration", duration(job) || "—");
  field(list, "Worker", job.worker || "—");
  if (job.status === "PENDING") {
    field(list, "Queue position", job.queue_position === undefined || job.queue_position === null ? "—" : String(job.queue_position));
    field(list, "Expected start", job.eta ? `${dateTime(job.eta)} (in ${span(job.eta_seconds)})`
      : (job.eta_seconds !== null && job.eta_seconds !== undefined ? `in ${span(job.eta_seconds)}` : "unknown"));
  }
  if (job.retry_of) field(list, "Retry of", element("a", { class: "retry-of", href: jobLink(job.retry_of), text: job.retry_of }));
  if (job.retried_by) field(list, "Retried by", element("a", { class: "retried-by", href: jobLink(job.retried_by), text: job.retried_by }));
}

function actionButton(text, className, act) {
  const button = element("button", { type: "button", class: className, text });
  button.addEventListener("click", async () => {
    button.disabled = true;
    $("#job-action-error").textContent = "";
    try { await act(); } catch (error) {
      $("#job-action-error").textContent = `⚠ ${error.message}`;
      button.disabled = false;
    }
  });
  return button;
}

/** Cancel while it runs; Retry once finished, only where it can work (`retryable`). */
function renderActions(job) {
  const box = $("#job-actions");
  box.replaceChildren();
  if (readOnly) return;
  if (!isFinished(job)) box.append(actionButton("Cancel", "danger", () => cancelJob(job.job_id)));
  else if (job.retryable !== false) {
    box.append(actionButton("Retry", "", async () => go({ job: (await retryJob(job.job_id)).data.job_id })));
  } else {
    box.append(element("span", { class: "muted", text: "This job cannot run again: its arguments are no longer kept." }));
  }
}

function renderArguments(args) {
  const box = $("#job-arguments");
  if (args === undefined || args === null) { box.replaceChildren(element("p", { class: "muted", text: "Not kept." })); return; }
  const entries = Object.entries(args);
  if (!entries.length) { box.replaceChildren(element("p", { class: "muted", text: "None." })); return; }
  const list = element("dl", { class: "arguments" });
  for (const [name, value] of entries) {
    list.append(element("dt", { text: name }), element("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }));
  }
  box.replaceChildren(list);
}

function showResult(job) {
  const box = $("#job-result");
  if (job.status !== "SUCCESS" || !job.result) {
    box.replaceChildren(element("p", { class: "muted", text: isFinished(job) ? "No result." : "Not yet: the job has not finished." }));
    return;
  }
  renderResult(job, box);
}

function timelineEntry(job, previous, live) {
  let when;
  let what;
  if (!previous || previous.status !== job.status || previous.attempt !== job.attempt) {
    if (job.status === "PENDING" && job.retry_at) when = `${time(job.retry_at)} (next attempt)`;
    else if (job.status === "PENDING") when = time(job.created_at);
    else if (job.status === "STARTED") when = time(job.started_at);
    else when = time(job.finished_at);
    what = job.status;
  } else if (previous.message !== job.message || previous.progress !== job.progress) {
    // Each change carries its time (updated_at); a live one without it is stamped on arrival.
    when = job.updated_at ? time(job.updated_at) : live ? time(new Date().toISOString()) : "";
    what = "progress";
  } else {
    return null;
  }
  const detail = [job.message, job.progress !== null && job.progress !== undefined ? `${Math.round(job.progress)} %` : ""]
    .filter(Boolean).join(" — ");
  const item = element("li", { "data-status": job.status, "data-kind": what === "progress" ? "progress" : "status" },
    element("time", { text: when || "·" }),
    what === "progress" ? element("span", { class: "muted", text: "progress" }) : badge(job.status),
    element("span", { text: ` ${detail}` }));
  if (job.status === "FAILURE" && job.error) item.append(element("span", { class: "error", text: ` ✖ ${errorText(job)}` }));
  return item;
}

function showJob(job) {
  $("#job-title").textContent = `${typeLabel(job.job_type)} job ${job.job_id.slice(0, 8)}`;
  const page = $("#job-view");
  page.dataset.status = job.status;
  page.dataset.job = job.job_id;
  showProgress($("#job-progress"), job);
  const failed = job.status === "FAILURE" && job.error;
  $("#job-error").hidden = !failed;
  $("#job-error").textContent = failed ? `✖ Failed — ${errorText(job)}` : "";
  $("#job-traceback").hidden = !job.traceback;
  $("#job-traceback pre").textContent = job.traceback || "";
  renderFields(job);
  renderActions(job);
  showResult(job);
}

async function refreshSnapshot(current) {
  try {
    const { data } = await request("GET", `/jobs/${encodeURIComponent(current.jobId)}`);
    if (view !== current || (current.snapshot && data.seq < current.snapshot.seq)) return;
    current.snapshot = { ...current.snapshot, ...data };
    showJob(current.snapshot);
  } catch {
    // the stream keeps the page current; this only adds the queue figures and links
  }
}

export async function openJob(jobId) {
  if (view && view.jobId === jobId) return;
  closeJobView();
  $("#job-title").textContent = `Job ${jobId.slice(0, 8)}`;
  window.scrollTo(0, 0); // the page opens at its top, not where the list was scrolled to
  $("#job-title").focus({ preventScroll: true }); // keyboard and screen-reader users land on the page they opened
  for (const id of ["#job-fields", "#job-arguments", "#timeline", "#job-result", "#job-actions"]) $(id).replaceChildren();
  $("#job-error").hidden = true;
  $("#job-traceback").hidden = true;
  $("#job-action-error").textContent = "";
  const current = { jobId, snapshot: null, last: null, opened: Date.now() };
  view = current;
  // Every event from the job's first (since=0 replays them), then live: the timeline; the
  // client falls back to polling where streams do not get through.
  current.watcher = createJobsWatcher({
    onProgress: (job) => {
      if (view !== current) return;
      const entry = timelineEntry(job, current.last, Date.now() - current.opened > 1500);
      if (entry) $("#timeline").append(entry);
      current.last = job;
      current.snapshot = { ...(current.snapshot || {}), ...job };
      if (job.status !== "PENDING") for (const key of ["queue_position", "eta", "eta_seconds"]) delete current.snapshot[key];
      showJob(current.snapshot);
      if (isFinished(job)) refreshSnapshot(current); // retried_by, the final result
    },
    onError: (message, job) => {
      if (view === current && !job) {
        $("#job-error").hidden = false;
        $("#job-error").textContent = `⚠ ${message}`;
      }
    },
  });
  try {
    const { data } = await request("GET", `/jobs/${encodeURIComponent(jobId)}`, { params: { include: "arguments" } });
    if (view !== current) return;
    renderArguments(data.arguments);
    current.snapshot = { ...data, ...(current.snapshot && current.snapshot.seq > data.seq ? current.snapshot : {}) };
    showJob(current.snapshot);
    current.watcher.add(jobId);
  } catch (error) {
    if (view !== current) return;
    $("#job-error").hidden = false;
    $("#job-error").textContent = error.response && error.response.status === 404
      ? `⚠ No job ${jobId} (or not yours).` : `⚠ ${error.message}`;
    return;
  }
  // While the job waits or runs: its queue position, ETA and running time stay current.
  current.timer = setInterval(() => {
    if (view !== current || !current.snapshot) return;
    if (current.snapshot.status === "PENDING") refreshSnapshot(current);
    else if (current.snapshot.status === "STARTED") renderFields(current.snapshot);
  }, 2000);
}

/** A viewer's key may look, not act: no Cancel or Retry. */
export function setJobPageReadOnly(value) {
  readOnly = value;
  if (view && view.snapshot) renderActions(view.snapshot);
}
