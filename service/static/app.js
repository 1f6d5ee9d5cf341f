// app.js — the dashboard at /: upload contracts, start score and audit jobs, watch them live,
// cancel them, read their results, and see the workers. Built on jobs-client.js only.
import {
  auditContracts, cancelJob, createJobsWatcher, getWorkerStatus, listJobs, login, logout, scoreContracts,
  uploadDocuments, watchJob, whoAmI,
} from "./jobs-client.js";

const $ = (selector) => document.querySelector(selector);
const FLEET_REFRESH_MS = 5000;
const rows = new Map(); // job id -> {show, done}
// One multiplexed event stream for every job on the page (browsers allow six connections).
const watcher = createJobsWatcher({
  onProgress: (job) => rows.get(job.job_id)?.show(job),
  onComplete: (_, job) => rows.get(job.job_id)?.done(job, true),
  onError: (text, job) => job && rows.get(job.job_id)?.done(job, false),
});

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function showError(message) {
  $("#start-error").textContent = message || "";
}

async function refreshFleet() {
  try {
    const { data } = await getWorkerStatus();
    const queued = data.jobs_in_queue;
    $("#fleet").textContent = `${data.workers.length} worker process(es), ${queued} job(s) queued — ${data.status}`;
    $("#fleet").dataset.state = data.status;
  } catch (error) {
    const data = error.response && error.response.data;
    $("#fleet").textContent = data && data.status === "down" ? "Redis is unavailable" : "Service unreachable";
    $("#fleet").dataset.state = "down";
  }
}

let documentsAsked = 0; // the latest refresh; an older one answering later is dropped

async function refreshDocuments() {
  const asked = (documentsAsked += 1);
  const workspace = $("#workspace").value.trim();
  const items = [];
  try {
    const response = await fetch(`/workspaces/${encodeURIComponent(workspace)}/documents`);
    if (response.ok) {
      const listed = await response.json();
      for (const doc of listed.documents) {
        items.push(element("li", { text: `${doc.filename} — ${doc.characters} characters${doc.pages ? `, ${doc.pages} page(s)` : ""}` }));
      }
      for (const doc of listed.extracting) {
        items.push(element("li", { text: `${doc.filename} — being read…`, "data-state": "extracting" }));
      }
    }
  } catch {
    // the list is a convenience; the upload status says what went wrong
  }
  if (asked === documentsAsked) $("#documents").replaceChildren(...items);
}

function renderResult(job) {
  const box = $("#results");
  const table = element("table", { "data-job": job.job_id });
  const result = job.result;
  if (job.job_type === "score_contracts") {
    table.append(element("caption", { text: `Scores for “${result.criterion}” (out of ${result.max_score})` }));
    table.append(element("tr", {}, element("th", { text: "Contract" }), element("th", { text: "Score" }),
      element("th", { text: "Best evidence" })));
    for (const contract of [...result.contracts].sort((a, b) => b.score - a.score)) {
      const evidence = contract.evidence[0] ? contract.evidence[0].text : "—";
      table.append(element("tr", {}, element("td", { text: contract.filename }),
        element("td", { text: String(contract.score) }), element("td", { text: evidence })));
    }
  } else if (job.job_type === "audit_contracts") {
    table.append(element("caption", { text: "Audit" }));
    table.append(element("tr", {}, element("th", { text: "Contract" }), element("th", { text: "Summary" })));
    for (const contract of result.contracts) {
      table.append(element("tr", {}, element("td", { text: contract.filename }),
        element("td", { text: contract.summary })));
    }
  } else {
    table.append(element("tr", {}, element("td", { text: JSON.stringify(result) })));
  }
  box.prepend(table);
}

function follow(jobId, label) {
  if (rows.has(jobId)) return;
  const status = element("span", { class: "job-status", text: "…" });
  const bar = element("progress", { max: "100", "aria-label": `Progress of ${label}` });
  const message = element("span", { class: "job-message" });
  const cancel = element("button", { type: "button", class: "secondary", text: "Cancel" });
  const row = element("li", { "data-job": jobId },
    element("span", { class: "job-title", text: `${label} · ${jobId.slice(0, 8)}` }), cancel, bar, status, message);
  $("#jobs").prepend(row);
  const show = (job) => {
    row.dataset.transport = watcher.transport;
    status.textContent = job.status;
    status.dataset.status = job.status;
    row.dataset.status = job.status;
    message.textContent = job.message;
    if (job.progress !== null && job.progress !== undefined) bar.value = job.progress;
  };
  const done = (job, succeeded) => {
    cancel.disabled = true;
    if (succeeded) {
      bar.value = 100;
      renderResult(job);
    }
  };
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try { await cancelJob(jobId); } catch (error) { message.textContent = error.message; }
  });
  rows.set(jobId, { show, done });
  watcher.add(jobId);
}

async function start(kind) {
  showError("");
  const workspace = $("#workspace").value.trim();
  try {
    const response = kind === "score"
      ? await scoreContracts($("#criterion").value, workspace, Number($("#max-score").value), false, false, true)
      : await auditContracts(workspace, null, true);
    follow(response.data.job_id, kind === "score" ? "Score" : "Audit");
  } catch (error) {
    showError(error.message);
  }
}

$("#upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = $("#files").files;
  if (!files.length) { $("#upload-status").textContent = "Choose at least one file."; return; }
  $("#upload-status").textContent = "Uploading…";
  try {
    const { data } = await uploadDocuments($("#workspace").value.trim(), files);
    $("#upload-status").textContent = `Uploaded ${data.documents.length} file(s); reading them…`;
    refreshDocuments();
    // The files are read by a worker (the extract_documents job): say how it went when it ends.
    watchJob(data.job_id, {
      onProgress: (job) => { if (job.message) $("#upload-status").textContent = job.message; },
      onComplete: (result) => {
        const failed = result.failed.map((f) => `${f.filename}: ${f.reason}`);
        $("#upload-status").textContent = `Added ${result.documents.length} document(s).`
          + (failed.length ? ` Not readable: ${failed.join("; ")}` : "");
        refreshDocuments();
      },
      onError: (message) => { $("#upload-status").textContent = message; refreshDocuments(); },
    });
  } catch (error) {
    $("#upload-status").textContent = error.message;
    refreshDocuments();
  }
});
$("#score-form").addEventListener("submit", (event) => { event.preventDefault(); start("score"); });
$("#audit-button").addEventListener("click", () => start("audit"));
$("#watch-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const jobId = $("#watch-id").value.trim();
  if (jobId) follow(jobId, "Job");
});
$("#workspace").addEventListener("change", refreshDocuments);

async function showRecentJobs() {
  try {
    const { data } = await listJobs({ workspace: $("#workspace").value.trim(), limit: 10 });
    for (const job of data.jobs.reverse()) follow(job.job_id, job.job_type === "audit_contracts" ? "Audit" : "Score");
  } catch {
    // an empty list is fine
  }
}

function showApp() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  refreshFleet();
  setInterval(refreshFleet, FLEET_REFRESH_MS);
  refreshDocuments();
  showRecentJobs();
}

async function showSession() {
  const { data } = await whoAmI();
  $("#tenant").textContent = `Tenant ${data.tenant}`;
  $("#who").hidden = false;
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await login($("#key").value.trim());
    $("#key").value = "";
    await showSession();
    showApp();
  } catch (error) {
    $("#login-error").textContent = error.message;
  }
});
$("#logout").addEventListener("click", async () => {
  await logout();
  window.location.reload();
});

// A login link (#key=…, as a local set-up prints) is traded for a session cookie at once, and the
// key is taken out of the address bar and the history; the fragment never reaches any server.
async function boot() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (fragment.get("key")) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
    try {
      await login(fragment.get("key"));
    } catch (error) {
      $("#login-error").textContent = `That login link did not work: ${error.message}`;
    }
  }
  try {
    await showSession();
    showApp();
  } catch {
    $("#login").hidden = false;
  }
}

boot();
