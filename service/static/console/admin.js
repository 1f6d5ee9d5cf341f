// admin.js — the admin panel: with the admin token, every queue's counts, the workers' jobs and
// the dead letters (why each job died; run it again, or forget it). The token lives in this
// module's variable only (never localStorage, the address bar or a cookie).
import { request } from "../jobs-client.js";
import { $, dateTime, element, plural } from "./dom.js";
import { onFleet } from "./fleet.js";
import { jobLink } from "./state.js";

let adminToken = "";
let onStarted = () => {};

/** A call with the admin token (and not the tenant's session: no cookie goes with it). */
async function adminApi(method, path) {
  try {
    return await request(method, path, { credentials: "omit", headers: { Authorization: `Bearer ${adminToken}` } });
  } catch (error) {
    const status = error.response ? error.response.status : 0;
    error.message = `HTTP ${status}${error.message ? ` — ${error.message}` : ""}`;
    throw error;
  }
}

const queueCounts = (queue) => `${queue.ready} ready, ${queue.delayed} delayed, ${plural(queue.dead_letters, "dead letter")}`;

function adminError(error) {
  const status = error.response && error.response.status;
  const hint = status === 401 || status === 403 ? " Is that the admin token?" : "";
  $("#admin-error").textContent = `⚠ ${error.message}.${hint}`;
}

async function adminStatus() {
  const { data } = await adminApi("GET", "/worker/status");
  if (!data.queues) throw new Error("That token is not the admin token: the answer has no queues");
  return data;
}

/** Each worker process and the jobs it runs (any tenant's: ids only). */
function workersBlock(workers) {
  const list = element("ul", { class: "worker-jobs", "aria-label": "Jobs each worker runs" },
    ...workers.map((worker) => element("li", { "data-worker": worker.id },
      element("strong", { text: `${worker.host} (pid ${worker.pid})` }),
      element("span", { text: worker.running_jobs.length ? ` runs ${worker.running_jobs.join(", ")}` : " runs no job" }))));
  return element("div", { class: "queue" }, element("h3", { text: "Workers' jobs" }), list);
}

/** The per-queue counts again (after a letter was run again or forgotten, or the fleet moved). */
async function refreshQueueCounts() {
  if (!adminToken || !$("#admin").open) return;
  try {
    const { queues } = await adminStatus();
    for (const [name, queue] of Object.entries(queues)) {
      const counts = document.querySelector(`#admin-queues [data-queue="${CSS.escape(name)}"] .queue-counts`);
      if (counts) counts.textContent = queueCounts(queue);
    }
  } catch (error) {
    adminError(error);
  }
}

function letterItem(queue, letter) {
  const retryable = letter.retryable !== false;
  const run = retryable ? element("button", { type: "button", class: "small", text: "Run again",
    "aria-label": `Run again job ${letter.job_id}` }) : element("span", { class: "muted", text: "Cannot run again: its arguments are no longer kept." });
  const forget = element("button", { type: "button", class: "danger small", text: "Forget",
    "aria-label": `Forget the dead letter of job ${letter.job_id}` });
  const actions = element("span", { class: "letter-actions" }, run, forget);
  const why = letter.error ? (typeof letter.error === "string" ? letter.error : `${letter.error.type || "Error"}: ${letter.error.message}`) : "";
  const item = element("li", { "data-letter": letter.id, "data-job": letter.job_id },
    element("span", { class: "letter-type", text: `${letter.job_type || "unknown type"} · ` }),
    element("code", { text: letter.job_id || "?" }),
    element("span", { class: "muted", text: ` · died ${dateTime(letter.dead_at)}` }),
    why ? element("p", { class: "letter-error error", text: `✖ ${why}` }) : "",
    actions);
  const path = `/queues/${encodeURIComponent(queue)}/dead-letters/${encodeURIComponent(letter.id)}`;
  const act = async (work) => {
    if (retryable) run.disabled = true;
    forget.disabled = true;
    $("#admin-error").textContent = "";
    try {
      await work();
      refreshQueueCounts();
    } catch (error) {
      adminError(error);
      if (retryable) run.disabled = false;
      forget.disabled = false;
    }
  };
  if (retryable) {
    run.addEventListener("click", () => act(async () => {
      const { data } = await adminApi("POST", `${path}/retry`);
      actions.replaceChildren(element("span", { class: "letter-note" }, "Started ",
        element("a", { href: jobLink(data.job_id), class: "started", text: data.job_id })));
      $("#admin-note").textContent = `Started ${data.job_id} (a run again of job ${letter.job_id}).`;
      onStarted(data.job_id);
    }));
  }
  forget.addEventListener("click", () => act(async () => {
    await adminApi("DELETE", path);
    item.remove();
    $("#admin-note").textContent = `Forgot the dead letter of job ${letter.job_id}.`;
  }));
  return item;
}

async function showQueues() {
  $("#admin-error").textContent = "";
  $("#admin-note").textContent = "Loading the queues…";
  const box = $("#admin-queues");
  try {
    const status = await adminStatus();
    const blocks = await Promise.all(Object.entries(status.queues).map(async ([name, queue]) => {
      const { data } = await adminApi("GET", `/queues/${encodeURIComponent(name)}/dead-letters`);
      const letters = element("ul", { class: "letters", "aria-label": `Dead letters of queue ${name}, newest first` },
        ...data.dead_letters.map((letter) => letterItem(name, letter)));
      if (!data.dead_letters.length) letters.append(element("li", { class: "muted", text: "No dead letters." }));
      return element("div", { class: "queue", "data-queue": name },
        element("h3", { text: `Queue ${name}` }), element("p", { class: "queue-counts", text: queueCounts(queue) }), letters);
    }));
    box.replaceChildren(workersBlock(status.workers), ...blocks);
    $("#admin-note").textContent = blocks.length ? "" : "No queues.";
  } catch (error) {
    box.replaceChildren();
    $("#admin-note").textContent = "";
    adminError(error);
  }
}

/** The panel's form; `started(jobId)` hears of a job a dead letter's "Run again" started. */
export function wireAdmin({ started }) {
  onStarted = started;
  $("#admin-form").addEventListener("submit", (event) => {
    event.preventDefault(); // nothing goes to the address bar (the field has no name either)
    adminToken = $("#admin-token").value.trim();
    if (adminToken) showQueues();
  });
  let last = 0;
  // The queue counts move with the header's (at most once a second): the two never disagree long.
  onFleet(() => {
    if (Date.now() - last < 1000) return;
    last = Date.now();
    refreshQueueCounts();
  });
}
