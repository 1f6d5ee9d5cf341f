// app.js — the operations console at /: every job the caller may see (filtered, paged, live), a page
// per job (arguments, timeline, result, cancel, retry), the workers and queues, the workspaces
// (upload, documents, their jobs) and a page per document (its text, a quoted passage highlighted).
// Built on jobs-client.js only; no build step.
//
// The address bar holds the state (#status=…&type=…&workspace=…&ws=…&job=…&doc=…&span=…): a reload,
// a link or the back button bring back the same filters, the same open job or document.
import {
  auditContracts, cancelJob, createJobsWatcher, getWorkerStatus, listJobs, login, logout, scoreContracts,
  uploadDocuments, whoAmI,
} from "./jobs-client.js";

const $ = (selector) => document.querySelector(selector);
const FLEET_REFRESH_MS = 5000;
const PAGE_SIZE = 25;
const LIST_REFRESH_MS = 10000;
const FINISHED = new Set(["SUCCESS", "FAILURE", "CANCELLED"]);
const TYPE_LABELS = { score_contracts: "Score", audit_contracts: "Audit", extract_documents: "Extract" };
// doc: the open document (of workspace ws); span: its highlighted passage, "start-end" in code points.
const STATE_KEYS = ["status", "type", "workspace", "ws", "job", "doc", "span"];
// The workspace last chosen, remembered per tenant (WORKSPACE_KEY:<tenant>): another tenant's
// console never starts in it. WORKSPACE_KEY alone held one name for every tenant: dropped.
const WORKSPACE_KEY = "console.workspace";
// The tenant this browser's console shows: when a tab changes it, the others start over.
const TENANT_KEY = "console.tenant";
const CHART_REFRESH_MS = 30000;
const CHART_MINUTES = 60;
const SVG = "http://www.w3.org/2000/svg";

// -- small helpers ----------------------------------------------------------------------------------

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

function svgElement(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** A call the client has no helper for (it answers like jobs-client: {data} or an Error). */
async function api(method, path) {
  const response = await fetch(path, { method, credentials: "same-origin" });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const error = new Error(data && data.error ? data.error.message : `HTTP ${response.status}`);
    error.response = { status: response.status, data };
    throw error;
  }
  return { data, status: response.status };
}

const typeLabel = (type) => TYPE_LABELS[type] || type;
const isFinished = (job) => FINISHED.has(job.status);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "—");
const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function span(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 90) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "took 1.2 s", "running for 8 s", "waiting for 3 s". */
function duration(job) {
  if (job.started_at && job.finished_at) return `took ${span((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000)}`;
  if (job.status === "STARTED" && job.started_at) return `running for ${span((Date.now() - Date.parse(job.started_at)) / 1000)}`;
  if (job.status === "PENDING" && job.created_at) return `waiting for ${span((Date.now() - Date.parse(job.created_at)) / 1000)}`;
  if (job.finished_at && job.created_at) return `ended after ${span((Date.parse(job.finished_at) - Date.parse(job.created_at)) / 1000)}`;
  return "";
}

const errorText = (job) => (job.error ? `${job.error.type}: ${job.error.message}` : "");

/** The status as a badge: its word, and an icon (drawn by the style sheet), never colour alone. */
function badge(status) {
  return element("span", { class: "badge job-status", "data-status": status, text: status });
}

function setBadge(node, status) {
  node.dataset.status = status;
  node.textContent = status;
}

/** A progress bar that tells the truth: none once failed or cancelled, full once done, moving
 * (indeterminate) only while a job runs without saying how far it is. */
function showProgress(bar, job) {
  const failed = job.status === "FAILURE" || job.status === "CANCELLED";
  bar.hidden = failed;
  if (job.status === "SUCCESS") bar.value = 100;
  else if (job.progress !== null && job.progress !== undefined) bar.value = job.progress;
  else if (job.status === "PENDING") bar.value = 0;
  else if (!failed) bar.removeAttribute("value");
}

// -- the address bar ----------------------------------------------------------------------------------

function readState() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const state = {};
  for (const key of STATE_KEYS) state[key] = params.get(key) || "";
  return state;
}

function stateHash(state) {
  const params = new URLSearchParams();
  for (const key of STATE_KEYS) if (state[key]) params.set(key, state[key]);
  const text = params.toString();
  return text ? `#${text}` : "#";
}

/** Change the state: a new history entry (the back button undoes it), then show it. */
function go(changes) {
  const next = stateHash({ ...readState(), ...changes });
  if (next === (window.location.hash || "#")) route();
  else window.location.hash = next; // hashchange calls route()
}

const jobLink = (jobId) => stateHash({ ...readState(), job: jobId, doc: "", span: "" });

/** "start-end" for a passage given as code-point offsets [start, end), or "" when it is not one. */
function spanOf(start, end) {
  return Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start ? `${start}-${end}` : "";
}

/** A document's page (over the current view: its Back link returns there), a passage highlighted. */
const documentHash = (workspace, docId, span = "") => stateHash({ ...readState(), ws: workspace, doc: docId, span });

/** A real link to a document's page; route() keeps its address current as the state changes. */
function documentLink(workspace, docId, span, attributes, ...children) {
  const data = { "data-ws": workspace, "data-doc": docId, "data-span": span || null };
  return element("a", { ...attributes, ...data, href: documentHash(workspace, docId, span) }, ...children);
}

/** A quote from a document: a link to its place there when the job knows its workspace. */
function evidenceLink(job, contract, quote, start, end, tag = "span") {
  const shown = element(tag, { text: quote });
  const workspace = job.workspace || (job.arguments && job.arguments.workspace_name);
  if (!workspace || !contract.doc_id) return shown;
  const span = spanOf(start, end);
  const where = span ? "at this passage" : "(passage not located)";
  return documentLink(workspace, contract.doc_id, span,
    { class: "evidence", title: `Open ${contract.filename} ${where}` }, shown);
}

// -- workers and queues -----------------------------------------------------------------------------

async function refreshFleet() {
  try {
    const { data } = await getWorkerStatus();
    const threads = data.workers.reduce((sum, worker) => sum + (worker.threads || 0), 0);
    const known = data.workers.every((worker) => typeof worker.running === "number");
    const running = known
      ? data.workers.reduce((sum, worker) => sum + worker.running, 0)
      : [...rows.values()].filter((row) => row.job.status === "STARTED").length;
    const parts = [
      `${data.workers.length} worker${data.workers.length === 1 ? "" : "s"}`,
      `${threads} thread${threads === 1 ? "" : "s"}`,
      `${running} running`,
      `${data.jobs_in_queue} waiting`,
    ];
    if (data.status !== "running") parts.push(data.status);
    $("#fleet").textContent = parts.join(" · ");
    $("#fleet").dataset.state = data.status;
    $("#workers").replaceChildren(...data.workers.map((worker, index) => {
      const name = worker.host ? `${worker.host}${worker.pid ? ` (pid ${worker.pid})` : ""}` : `Worker ${index + 1}`;
      const age = worker.seconds_since_heartbeat;
      return element("li", { "data-state": worker.state },
        element("strong", { text: name }),
        element("span", { text: ` · ${worker.threads} threads${typeof worker.running === "number" ? `, ${worker.running} busy` : ""}` }),
        element("span", { class: "worker-state", text: ` · ${worker.state}` }),
        element("span", { class: "muted", text: ` · heartbeat ${age === null || age === undefined ? "—" : `${span(age)} ago`}` }),
        worker.queues ? element("span", { class: "muted", text: ` · queues: ${worker.queues.join(", ")}` }) : "");
    }));
    if (!data.workers.length) $("#workers").append(element("li", { class: "error", text: "⚠ No worker is running: jobs wait until one starts." }));
    const queues = [element("dt", { text: "Jobs waiting" }), element("dd", { text: String(data.jobs_in_queue) })];
    for (const [name, queue] of Object.entries(data.queues || {})) {
      queues.push(element("dt", { text: `Queue ${name}` }),
        element("dd", { text: `${queue.ready} ready, ${queue.delayed} delayed, ${queue.dead_letters} dead letters` }));
    }
    $("#queues").replaceChildren(...queues);
  } catch (error) {
    const data = error.response && error.response.data;
    $("#fleet").textContent = data && data.status === "down" ? "⚠ Redis is unavailable" : "⚠ Service unreachable";
    $("#fleet").dataset.state = "down";
  }
}

let fleetTimer = null;
/** The workers' figures again shortly (after their next heartbeat), once however many jobs moved. */
function fleetSoon() {
  if (fleetTimer) return;
  fleetTimer = setTimeout(() => { fleetTimer = null; refreshFleet(); }, 1200);
}

// -- jobs ended per minute (the chart) ----------------------------------------------------------------

let chartAsked = 0;
let chartPending = false;
const plural = (count, word) => `${count} ${word}`;
const hourMinute = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

async function refreshChart() {
  const asked = (chartAsked += 1);
  try {
    const { data } = await api("GET", `/stats/ended?minutes=${CHART_MINUTES}`);
    if (asked === chartAsked) renderChart(data.minutes || []);
  } catch (error) {
    if (asked !== chartAsked) return;
    $("#ended-summary").textContent = `⚠ Could not count the jobs that ended: ${error.message}`;
    $("#ended-summary").classList.add("error");
  }
}

/** The chart again once a job ended: the workers' counts reach Redis within a second or so. */
function chartSoon() {
  if (chartPending) return;
  chartPending = true;
  setTimeout(() => {
    chartPending = false;
    refreshChart();
    setTimeout(refreshChart, 3000); // a batch flushed a little later
  }, 1500);
}

/** Stacked bars, one per minute (oldest at the left): succeeded, failed, cancelled. */
function renderChart(minutes) {
  const width = 600;
  const height = 100;
  const totals = { succeeded: 0, failed: 0, cancelled: 0 };
  let busiest = 0;
  for (const minute of minutes) {
    for (const kind of Object.keys(totals)) totals[kind] += minute[kind] || 0;
    busiest = Math.max(busiest, (minute.succeeded || 0) + (minute.failed || 0) + (minute.cancelled || 0));
  }
  const said = `${plural(totals.succeeded, "succeeded")}, ${plural(totals.failed, "failed")}, ${plural(totals.cancelled, "cancelled")}`;
  const slot = width / Math.max(minutes.length, 1);
  const scale = height / Math.max(busiest, 1);
  const bars = minutes.map((minute, index) => {
    const x = index * slot + slot * 0.15;
    const group = svgElement("g", { class: "minute" }, svgElement("title", {},
      `${hourMinute(minute.minute)}: ${minute.succeeded} succeeded, ${minute.failed} failed, ${minute.cancelled} cancelled`));
    group.append(svgElement("rect", { class: "hit", x: index * slot, y: 0, width: slot, height }));
    let top = height;
    for (const kind of ["succeeded", "failed", "cancelled"]) {
      const count = minute[kind] || 0;
      if (!count) continue;
      const tall = count * scale;
      top -= tall;
      group.append(svgElement("rect", { class: `bar ${kind}`, x, y: top, width: slot * 0.7, height: tall }));
    }
    return group;
  });
  const label = `Jobs ended per minute over the last hour: ${said}; at most ${busiest} in one minute.`;
  const svg = svgElement("svg", { role: "img", "aria-label": label, viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none", focusable: "false" },
  svgElement("line", { class: "baseline", x1: 0, y1: height, x2: width, y2: height }), ...bars);
  const axis = element("p", { class: "chart-axis muted", "aria-hidden": "true" },
    element("span", { text: `${minutes.length} min ago` }),
    element("span", { text: busiest ? `tallest bar: ${busiest}` : "nothing ended" }),
    element("span", { text: "now" }));
  const legend = element("ul", { class: "chart-legend", "aria-hidden": "true" },
    ...["succeeded", "failed", "cancelled"].map((kind) => element("li", {},
      element("span", { class: `swatch ${kind}` }), element("span", { text: ` ${kind}` }))));
  $("#ended-chart").replaceChildren(svg, axis, legend);
  $("#ended-summary").classList.remove("error");
  $("#ended-summary").textContent = `Last hour: ${said}`;
}

// -- the admin: queues and dead letters ---------------------------------------------------------------

// The admin token lives in this variable only (never localStorage, the address bar or a cookie).
let adminToken = "";

/** A call with the admin token (and not the tenant's session: no cookie goes with it). */
async function adminApi(method, path) {
  const response = await fetch(path, { method, credentials: "omit", headers: { Authorization: `Bearer ${adminToken}` } });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const why = data && data.error ? data.error.message : response.statusText;
    const error = new Error(`HTTP ${response.status}${why ? ` — ${why}` : ""}`);
    error.response = { status: response.status, data };
    throw error;
  }
  return { data, status: response.status };
}

const queueCounts = (queue) => `${queue.ready} ready, ${queue.delayed} delayed, ${queue.dead_letters} dead letter${queue.dead_letters === 1 ? "" : "s"}`;

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

/** The per-queue counts again (after a letter was run again or forgotten). */
async function refreshQueueCounts() {
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
  const run = element("button", { type: "button", class: "small", text: "Run again",
    "aria-label": `Run again job ${letter.job_id}` });
  const forget = element("button", { type: "button", class: "danger small", text: "Forget",
    "aria-label": `Forget the dead letter of job ${letter.job_id}` });
  const actions = element("span", { class: "letter-actions" }, run, forget);
  const item = element("li", { "data-letter": letter.id, "data-job": letter.job_id },
    element("span", { class: "letter-type", text: `${letter.job_type || "unknown type"} · ` }),
    element("code", { text: letter.job_id || "?" }),
    element("span", { class: "muted", text: ` · died ${dateTime(letter.dead_at)}` }),
    actions);
  const path = `/queues/${encodeURIComponent(queue)}/dead-letters/${encodeURIComponent(letter.id)}`;
  run.addEventListener("click", async () => {
    run.disabled = forget.disabled = true;
    $("#admin-error").textContent = "";
    try {
      const { data } = await adminApi("POST", `${path}/retry`);
      actions.replaceChildren(element("span", { class: "letter-note" }, "Started ",
        element("a", { href: jobLink(data.job_id), class: "started", text: data.job_id })));
      $("#admin-note").textContent = `Started ${data.job_id} (a run again of job ${letter.job_id}).`;
      mergeNewest(); // the new job shows in the list when it is this tenant's
      chartSoon();
      refreshQueueCounts();
    } catch (error) {
      adminError(error);
      run.disabled = forget.disabled = false;
    }
  });
  forget.addEventListener("click", async () => {
    run.disabled = forget.disabled = true;
    $("#admin-error").textContent = "";
    try {
      await adminApi("DELETE", path);
      item.remove();
      $("#admin-note").textContent = `Forgot the dead letter of job ${letter.job_id}.`;
      refreshQueueCounts();
    } catch (error) {
      adminError(error);
      run.disabled = forget.disabled = false;
    }
  });
  return item;
}

async function showQueues() {
  $("#admin-error").textContent = "";
  $("#admin-note").textContent = "Loading the queues…";
  const box = $("#admin-queues");
  try {
    const status = await adminStatus();
    const queues = status.queues;
    const blocks = await Promise.all(Object.entries(queues).map(async ([name, queue]) => {
      const { data } = await adminApi("GET", `/queues/${encodeURIComponent(name)}/dead-letters`);
      const letters = element("ul", { class: "letters", "aria-label": `Dead letters of queue ${name}, newest first` },
        ...data.dead_letters.map((letter) => letterItem(name, letter)));
      if (!data.dead_letters.length) letters.append(element("li", { class: "muted", text: "No dead letters." }));
      return element("div", { class: "queue", "data-queue": name },
        element("h3", { text: `Queue ${name}` }),
        element("p", { class: "queue-counts", text: queueCounts(queue) }),
        letters);
    }));
    box.replaceChildren(workersBlock(status.workers), ...blocks);
    $("#admin-note").textContent = blocks.length ? "" : "No queues.";
  } catch (error) {
    box.replaceChildren();
    $("#admin-note").textContent = "";
    adminError(error);
  }
}

// -- workspaces -------------------------------------------------------------------------------------

let knownWorkspaces = [];
let documentsAsked = 0; // the latest refresh; an older one answering later is dropped

const currentWorkspace = () => $("#workspace").value.trim();

async function refreshWorkspaces() {
  try {
    const { data } = await api("GET", "/workspaces");
    knownWorkspaces = data.workspaces;
  } catch {
    knownWorkspaces = [];
  }
  $("#workspace-names").replaceChildren(...knownWorkspaces.map((ws) => element("option", { value: ws.name })));
  $("#workspaces").replaceChildren(...knownWorkspaces.map((ws) => {
    const chosen = ws.name === currentWorkspace();
    return element("li", {}, element("button", {
      type: "button", class: chosen ? "chip chosen" : "chip", "aria-pressed": chosen ? "true" : "false",
      "data-workspace": ws.name, text: `${ws.name} (${ws.documents})`,
    }));
  }));
  const filter = $("#filter-workspace");
  const wanted = readState().workspace;
  const names = new Set(knownWorkspaces.map((ws) => ws.name));
  if (wanted) names.add(wanted);
  filter.replaceChildren(element("option", { value: "", text: "Any workspace" }),
    ...[...names].sort().map((name) => element("option", { value: name, text: name })));
  filter.value = wanted;
}

async function refreshDocuments() {
  const asked = (documentsAsked += 1);
  const workspace = currentWorkspace();
  const items = [];
  // Only a workspace that exists is asked about (a new name has no documents yet: no 404).
  if (workspace && knownWorkspaces.some((ws) => ws.name === workspace)) {
    try {
      const { data } = await api("GET", `/workspaces/${encodeURIComponent(workspace)}/documents`);
      for (const doc of data.documents) {
        items.push(element("li", { "data-doc": doc.doc_id },
          documentLink(workspace, doc.doc_id, "", { class: "document-link", text: doc.filename }),
          ` — ${doc.characters} characters${doc.pages ? `, ${doc.pages} page(s)` : ""}`));
      }
      for (const doc of data.extracting) {
        items.push(element("li", { text: `${doc.filename} — being read…`, "data-state": "extracting" }));
      }
    } catch {
      // the list is a convenience; the upload status says what went wrong
    }
  }
  if (asked !== documentsAsked) return;
  $("#documents").replaceChildren(...items);
  if (!items.length) $("#documents").append(element("li", { class: "muted", "data-empty": "", text: workspace ? "No documents yet: upload some." : "Choose or name a workspace." }));
  $("#workspace-jobs").href = stateHash({ ws: workspace, workspace });
  $("#workspace-jobs").hidden = !workspace;
  $("#delete-workspace").hidden = !knownWorkspaces.some((ws) => ws.name === workspace);
}

/** What became of an upload's files, once the jobs reading them ended (their results): in words,
 * and whether any could not be read. */
function uploadOutcome(sent, results) {
  const read = new Set(results.flatMap((result) => result.documents.map((doc) => doc.doc_id)));
  const failed = new Map(results.flatMap((result) => result.failed.map((failure) => [failure.doc_id, failure])));
  const stored = new Set(sent.filter((file) => !file.duplicate).map((file) => file.doc_id));
  // Each document counts once, however many copies of it the upload had.
  const reading = [...new Set(sent.filter((file) => file.extracting).map((file) => file.doc_id))];
  const added = reading.filter((docId) => read.has(docId)).length;
  const unreadable = reading.filter((docId) => failed.has(docId)).map((docId) => failed.get(docId));
  const named = (file) => (file.uploaded_as === file.filename ? file.filename : `${file.uploaded_as} (as ${file.filename})`);
  const already = sent.filter((file) => file.duplicate && !file.extracting).map(named);
  const copies = sent.filter((file) => file.duplicate && stored.has(file.doc_id)).map((file) => file.uploaded_as);
  const parts = [];
  if (added || unreadable.length || !already.length) parts.push(`Added ${added} document(s).`);
  else parts.push("Nothing new.");
  if (already.length) parts.push(`Already in the workspace: ${already.join(", ")}.`);
  if (copies.length) parts.push(`The same as another file of this upload, stored once: ${copies.join(", ")}.`);
  if (unreadable.length) parts.push(`Not readable: ${unreadable.map((f) => `${f.filename}: ${f.reason}`).join("; ")}`);
  return { message: parts.join(" "), failed: unreadable.length > 0 };
}

function chooseWorkspace(name, { updateUrl = true } = {}) {
  $("#workspace").value = name;
  if (name) localStorage.setItem(workspaceKey(), name);
  for (const button of document.querySelectorAll("#workspaces button")) {
    const chosen = button.dataset.workspace === name;
    button.classList.toggle("chosen", chosen);
    button.setAttribute("aria-pressed", chosen ? "true" : "false");
  }
  if (updateUrl && readState().ws !== name) {
    // An open document is the old workspace's: choosing another closes it.
    const open = Boolean(readState().doc);
    history.replaceState(null, "", stateHash({ ...readState(), ws: name, ...(open ? { doc: "", span: "" } : {}) }));
    if (open) route();
  }
  refreshDocuments();
}

// -- the jobs list ----------------------------------------------------------------------------------

const rows = new Map(); // job id -> {job, update(job)}
let watcher = null;
let listAsked = 0;
let nextCursor = null;
let listedFilters = null;

function newWatcher() {
  if (watcher) watcher.close();
  // One multiplexed event stream for every job in the list (browsers allow six connections).
  watcher = createJobsWatcher({
    onProgress: (job) => {
      const entry = rows.get(job.job_id);
      const before = entry && entry.job.status;
      entry?.update(job);
      if (before !== job.status) fleetSoon(); // a job started or ended: the running count moved
      if (before !== job.status && isFinished(job)) chartSoon(); // and the chart of endings
    },
  });
}

function follow(job) {
  if (!isFinished(job)) watcher.add(job.job_id);
}

function jobRow(job) {
  const title = element("a", { class: "job-title", href: jobLink(job.job_id) });
  const status = badge(job.status);
  const bar = element("progress", { max: "100", "aria-label": `Progress of ${typeLabel(job.job_type)} job ${job.job_id.slice(0, 8)}` });
  const message = element("span", { class: "job-message" });
  const error = element("p", { class: "job-error error", hidden: true });
  const meta = element("span", { class: "job-meta muted" });
  const actions = element("span", { class: "job-actions" });
  const row = element("li", { "data-job": job.job_id }, title, status, actions, bar, message, error, meta);
  let cancel = null;
  const entry = { job };
  entry.update = (next) => {
    if (next.seq !== undefined && entry.job.seq !== undefined && next.seq < entry.job.seq) return;
    entry.job = { ...entry.job, ...next };
    const current = entry.job;
    row.dataset.transport = watcher ? watcher.transport : "";
    row.dataset.status = current.status;
    title.textContent = `${typeLabel(current.job_type)} · ${current.workspace || "no workspace"} · ${current.job_id.slice(0, 8)}`;
    setBadge(status, current.status);
    message.textContent = current.message || "";
    showProgress(bar, current);
    error.hidden = current.status !== "FAILURE" || !current.error;
    error.textContent = current.status === "FAILURE" ? `✖ Error — ${errorText(current)}` : "";
    entry.tick();
    if (isFinished(current) && cancel) {
      cancel.remove(); // a finished job has nothing to cancel: no dead button
      cancel = null;
    } else if (!isFinished(current) && !cancel) {
      cancel = element("button", { type: "button", class: "danger small", text: "Cancel",
        "aria-label": `Cancel job ${current.job_id.slice(0, 8)}` });
      cancel.addEventListener("click", async (event) => {
        event.stopPropagation();
        cancel.disabled = true;
        try { await cancelJob(current.job_id); } catch (failure) {
          message.textContent = failure.message;
          cancel.disabled = false;
        }
      });
      actions.append(cancel);
    }
  };
  entry.tick = () => {
    const current = entry.job;
    const parts = [`created ${dateTime(current.created_at)}`, duration(current)];
    if (current.attempt > 1) parts.push(`attempt ${current.attempt}`);
    meta.textContent = parts.filter(Boolean).join(" · ");
  };
  row.addEventListener("click", (event) => {
    if (event.target.closest("a, button")) return;
    go({ job: job.job_id });
  });
  entry.row = row;
  entry.update(job);
  rows.set(job.job_id, entry);
  return row;
}

function filtersFromState(state) {
  const filters = { limit: PAGE_SIZE };
  if (state.status) filters.status = state.status;
  if (state.type) filters.job_type = state.type;
  if (state.workspace) filters.workspace = state.workspace;
  return filters;
}

const matchesFilters = (job) => {
  const state = readState();
  return (!state.status || state.status === job.status) && (!state.type || state.type === job.job_type)
    && (!state.workspace || state.workspace === job.workspace);
};

async function loadJobs({ older = false } = {}) {
  const asked = (listAsked += 1);
  const filters = filtersFromState(readState());
  if (older && nextCursor) filters.cursor = nextCursor;
  $("#jobs-error").textContent = "";
  try {
    const { data } = await listJobs(filters);
    if (asked !== listAsked) return;
    if (!older) {
      rows.clear();
      newWatcher();
      $("#jobs").replaceChildren();
    }
    for (const job of data.jobs) {
      if (rows.has(job.job_id)) continue;
      $("#jobs").append(jobRow(job));
      follow(job);
    }
    addTypes(data.jobs);
    nextCursor = data.next_cursor;
    $("#older").hidden = !nextCursor;
    $("#jobs-empty").hidden = rows.size > 0;
    listedFilters = JSON.stringify(filtersFromState(readState()));
  } catch (error) {
    if (asked === listAsked) $("#jobs-error").textContent = `⚠ Could not list the jobs: ${error.message}`;
  }
}

/** Page one again, quietly: jobs started elsewhere since appear at the top, and rows the stream
 * does not follow (finished, or started by another page) catch up. */
async function mergeNewest() {
  if (readState().job || document.hidden) return;
  const asked = listAsked;
  let data;
  try {
    ({ data } = await listJobs(filtersFromState(readState())));
  } catch {
    return; // the next round, or Refresh, tries again
  }
  if (asked !== listAsked || readState().job) return; // the list was reloaded meanwhile
  const fresh = [];
  let ended = false;
  for (const job of data.jobs) {
    const known = rows.get(job.job_id);
    if (known) {
      ended ||= !isFinished(known.job) && isFinished(job);
      known.update(job);
    } else {
      fresh.push(job);
      ended ||= isFinished(job);
    }
  }
  if (ended) chartSoon();
  const first = $("#jobs").firstChild;
  for (const job of fresh) {
    $("#jobs").insertBefore(jobRow(job), first);
    follow(job);
  }
  if (fresh.length) $("#jobs-empty").hidden = true;
  addTypes(data.jobs);
}

/** Every job type the rows show can be filtered on. */
function addTypes(jobs) {
  const select = $("#filter-type");
  const have = new Set([...select.options].map((option) => option.value));
  for (const job of jobs) {
    if (job.job_type && !have.has(job.job_type)) {
      select.append(element("option", { value: job.job_type, text: job.job_type }));
      have.add(job.job_type);
    }
  }
  select.value = readState().type;
}

/** A job this page started: at the top of the list (when the filters let it in), followed live. */
function addStarted(job) {
  if (!matchesFilters(job) || rows.has(job.job_id)) return;
  $("#jobs").prepend(jobRow(job));
  $("#jobs-empty").hidden = true;
  follow(job);
}

async function start(kind) {
  $("#start-error").textContent = "";
  const workspace = currentWorkspace();
  if (!workspace) { $("#start-error").textContent = "⚠ Choose a workspace first."; return; }
  try {
    const response = kind === "score"
      ? await scoreContracts($("#criterion").value, workspace, Number($("#max-score").value), false, false, true)
      : await auditContracts(workspace, null, true);
    const type = kind === "score" ? "score_contracts" : "audit_contracts";
    addStarted({ ...response.data, job_type: type, workspace, seq: 0, created_at: new Date().toISOString() });
  } catch (error) {
    $("#start-error").textContent = `⚠ ${error.message}`;
  }
}

// -- the job page -----------------------------------------------------------------------------------

let jobView = null; // {jobId, watcher, snapshot, timer}

function closeJobView() {
  if (!jobView) return;
  jobView.watcher.close();
  clearInterval(jobView.timer);
  jobView = null;
}

function field(list, name, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(element("dt", { text: name }), element("dd", {}, value));
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

function renderActions(job) {
  const box = $("#job-actions");
  box.replaceChildren();
  if (!isFinished(job)) {
    const cancel = element("button", { type: "button", class: "danger", text: "Cancel" });
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      $("#job-action-error").textContent = "";
      try { await cancelJob(job.job_id); } catch (error) {
        $("#job-action-error").textContent = `⚠ ${error.message}`;
        cancel.disabled = false;
      }
    });
    box.append(cancel);
  } else {
    const retry = element("button", { type: "button", text: "Retry" });
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      $("#job-action-error").textContent = "";
      try {
        const { data } = await api("POST", `/jobs/${encodeURIComponent(job.job_id)}/retry`);
        go({ job: data.job_id });
      } catch (error) {
        $("#job-action-error").textContent = `⚠ ${error.message}`;
        retry.disabled = false;
      }
    });
    box.append(retry);
  }
}

function renderArguments(args) {
  const box = $("#job-arguments");
  if (args === undefined || args === null) { box.replaceChildren(element("p", { class: "muted", text: "Not kept." })); return; }
  const entries = Object.entries(args);
  if (!entries.length) { box.replaceChildren(element("p", { class: "muted", text: "None." })); return; }
  const list = element("dl", { class: "arguments" });
  for (const [name, value] of entries) {
    list.append(element("dt", { text: name }),
      element("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }));
  }
  box.replaceChildren(list);
}

function renderResult(job) {
  const box = $("#job-result");
  const result = job.result;
  if (job.status !== "SUCCESS" || !result) {
    box.replaceChildren(element("p", { class: "muted", text: isFinished(job) ? "No result." : "Not yet: the job has not finished." }));
    return;
  }
  if (job.job_type === "score_contracts") {
    const table = element("table", { "data-job": job.job_id, class: "scores" });
    table.append(element("caption", { text: `Scores for “${result.criterion}” (out of ${result.max_score})` }));
    table.append(element("thead", {}, element("tr", {}, element("th", { scope: "col", text: "#" }),
      element("th", { scope: "col", text: "Contract" }), element("th", { scope: "col", text: "Score" }),
      element("th", { scope: "col", text: "Why" }), element("th", { scope: "col", text: "Best evidence" }))));
    const body = element("tbody");
    [...result.contracts].sort((a, b) => b.score - a.score).forEach((contract, index) => {
      const best = contract.evidence && contract.evidence[0];
      const evidence = best ? evidenceLink(job, contract, best.text, best.start, best.end) : "—";
      body.append(element("tr", { "data-verdict": contract.verdict || "" }, element("td", { text: String(index + 1) }),
        element("td", { text: contract.filename }), element("td", { text: String(contract.score) }),
        element("td", { class: "reason", text: contract.reason || "" }), element("td", {}, evidence)));
    });
    table.append(body);
    box.replaceChildren(table);
  } else if (job.job_type === "audit_contracts") {
    const blocks = result.contracts.map((contract) => {
      const items = element("ul", { class: "checklist" });
      for (const item of contract.items) {
        items.append(element("li", { "data-found": item.found ? "yes" : "no" },
          element("span", { class: "mark", text: item.found ? "✔ found" : "✖ missing" }),
          element("span", { text: ` ${item.item}` }),
          item.reason ? element("span", { class: "reason muted", text: ` — ${item.reason}` }) : "",
          item.evidence ? evidenceLink(job, contract, item.evidence, item.start, item.end, "q") : ""));
      }
      for (const flag of contract.risk_flags || []) {
        if (flag.found) {
          items.append(element("li", { "data-found": "risk" }, element("span", { class: "mark", text: "⚠ risk" }),
            element("span", { text: ` ${flag.item}` }),
            flag.reason ? element("span", { class: "reason muted", text: ` — ${flag.reason}` }) : "",
            flag.evidence ? evidenceLink(job, contract, flag.evidence, flag.start, flag.end, "q") : ""));
        }
      }
      return element("article", { class: "audit" }, element("h4", { text: contract.filename }),
        element("p", { class: "summary", text: contract.summary }), items);
    });
    box.replaceChildren(element("p", { text: `Checklist: ${result.checklist.join(", ")}` }), ...blocks);
  } else if (job.job_type === "extract_documents") {
    const read = element("ul", {}, ...result.documents.map((doc) => element("li", {
      text: `✔ ${doc.filename} — ${doc.characters} characters${doc.pages ? `, ${doc.pages} page(s)` : ""}` })));
    const failed = element("ul", { class: "error" }, ...result.failed.map((doc) => element("li", { text: `✖ ${doc.filename}: ${doc.reason}` })));
    box.replaceChildren(element("p", { text: `${result.documents.length} document(s) read, ${result.failed.length} failed` }), read, failed);
  } else {
    box.replaceChildren(element("pre", { text: JSON.stringify(result, null, 2) }));
  }
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
  const view = $("#job-view");
  view.dataset.status = job.status;
  view.dataset.job = job.job_id;
  showProgress($("#job-progress"), job);
  const failed = job.status === "FAILURE" && job.error;
  $("#job-error").hidden = !failed;
  $("#job-error").textContent = failed ? `✖ Failed — ${errorText(job)}` : "";
  renderFields(job);
  renderActions(job);
  renderResult(job);
}

async function openJob(jobId) {
  if (jobView && jobView.jobId === jobId) return;
  closeJobView();
  $("#job-title").textContent = `Job ${jobId.slice(0, 8)}`;
  $("#job-title").focus(); // keyboard and screen-reader users land on the page they opened
  for (const id of ["#job-fields", "#job-arguments", "#timeline", "#job-result", "#job-actions"]) $(id).replaceChildren();
  $("#job-error").hidden = true;
  $("#job-action-error").textContent = "";
  const view = { jobId, snapshot: null, last: null, opened: Date.now() };
  jobView = view;
  // Every event from the job's first (since=0 replays them), then live: the timeline; the
  // client falls back to polling where streams do not get through.
  view.watcher = createJobsWatcher({
    onProgress: (job) => {
      if (jobView !== view) return;
      const entry = timelineEntry(job, view.last, Date.now() - view.opened > 1500);
      if (entry) $("#timeline").append(entry);
      view.last = job;
      view.snapshot = { ...(view.snapshot || {}), ...job };
      if (job.status !== "PENDING") for (const key of ["queue_position", "eta", "eta_seconds"]) delete view.snapshot[key];
      showJob(view.snapshot);
      if (isFinished(job)) refreshSnapshot(view); // retried_by, the final result
    },
    onError: (message, job) => {
      if (jobView === view && !job) {
        $("#job-error").hidden = false;
        $("#job-error").textContent = `⚠ ${message}`;
      }
    },
  });
  try {
    const { data } = await api("GET", `/jobs/${encodeURIComponent(jobId)}?include=arguments`);
    if (jobView !== view) return;
    renderArguments(data.arguments);
    view.snapshot = { ...data, ...(view.snapshot && view.snapshot.seq > data.seq ? view.snapshot : {}) };
    showJob(view.snapshot);
    view.watcher.add(jobId);
  } catch (error) {
    if (jobView !== view) return;
    $("#job-error").hidden = false;
    $("#job-error").textContent = error.response && error.response.status === 404
      ? `⚠ No job ${jobId} (or not yours).` : `⚠ ${error.message}`;
    return;
  }
  // While the job waits or runs: its queue position, ETA and running time stay current.
  view.timer = setInterval(() => {
    if (jobView !== view || !view.snapshot) return;
    if (view.snapshot.status === "PENDING") refreshSnapshot(view);
    else if (view.snapshot.status === "STARTED") renderFields(view.snapshot);
  }, 2000);
}

async function refreshSnapshot(view) {
  try {
    const { data } = await api("GET", `/jobs/${encodeURIComponent(view.jobId)}`);
    if (jobView !== view || (view.snapshot && data.seq < view.snapshot.seq)) return;
    view.snapshot = { ...view.snapshot, ...data };
    showJob(view.snapshot);
  } catch {
    // the stream keeps the page current; this only adds the queue figures and links
  }
}

// -- a document's page --------------------------------------------------------------------------------

let shownDocument = ""; // the workspace, document and passage on show, so that a route() keeps them
let documentAsked = 0; // the latest fetch; an older one answering later is dropped

/** {start, end} from "start-end", or null. */
function parseSpan(span) {
  const found = /^(\d+)-(\d+)$/.exec(span || "");
  if (!found) return null;
  const [start, end] = [Number(found[1]), Number(found[2])];
  return end > start ? { start, end } : null;
}

function closeDocument() {
  shownDocument = "";
  documentAsked += 1;
}

async function openDocument(workspace, docId, span) {
  const key = JSON.stringify([workspace, docId, span]);
  if (shownDocument === key) return;
  shownDocument = key;
  const asked = (documentAsked += 1);
  $("#document-title").textContent = "Document";
  $("#document-title").focus(); // keyboard and screen-reader users land on the page they opened
  for (const id of ["#document-fields", "#document-text"]) $(id).replaceChildren();
  $("#document-note").textContent = "";
  $("#document-error").textContent = "";
  $("#document-view").dataset.doc = docId;
  try {
    const path = `/workspaces/${encodeURIComponent(workspace)}/documents/${encodeURIComponent(docId)}`;
    const { data } = await api("GET", path);
    if (asked === documentAsked) showDocument(data, parseSpan(span));
  } catch (error) {
    if (asked !== documentAsked) return;
    shownDocument = ""; // a click on the same link, or a reload, asks again (it may be read by now)
    const status = error.response && error.response.status;
    $("#document-error").textContent = status === 404
      ? `⚠ No document ${docId} in workspace “${workspace}” (deleted, expired, or not yours).`
      : `⚠ ${error.message}`; // 409: still being read
  }
}

function showDocument(data, span) {
  const doc = data.document;
  $("#document-title").textContent = doc.filename;
  const list = $("#document-fields");
  field(list, "Workspace", data.workspace);
  field(list, "Type", doc.content_type);
  if (doc.pages) field(list, "Pages", String(doc.pages));
  field(list, "Characters", String(doc.characters));
  field(list, "Size", `${doc.size_bytes} bytes`);
  field(list, "Uploaded", dateTime(doc.uploaded_at));
  if (doc.expires_at) field(list, "Text kept until", dateTime(new Date(doc.expires_at * 1000).toISOString()));
  field(list, "SHA-256", element("code", { text: doc.sha256 }));
  field(list, "Document id", element("code", { text: doc.doc_id }));
  const text = $("#document-text");
  text.setAttribute("aria-label", `Text of ${doc.filename}`);
  // Offsets count code points (Python's str indices): Array.from splits the text the same way.
  const characters = Array.from(data.text);
  if (!span || span.end > characters.length) {
    text.replaceChildren(data.text);
    if (span) $("#document-note").textContent = "⚠ The quoted passage is not within this document's text; it may have changed since the job ran.";
    return;
  }
  const mark = element("mark", { id: "passage", tabindex: "-1", text: characters.slice(span.start, span.end).join("") });
  text.replaceChildren(characters.slice(0, span.start).join(""), mark, characters.slice(span.end).join(""));
  $("#document-note").textContent = `The quoted passage is highlighted: characters ${span.start + 1} to ${span.end} of ${characters.length}.`;
  mark.focus({ preventScroll: true }); // read out first, and Tab goes on from there
  mark.scrollIntoView({ block: "center" });
}

// -- routing ------------------------------------------------------------------------------------------

function route() {
  const state = readState();
  $("#filter-status").value = state.status;
  if (state.type) addTypes([{ job_type: state.type }]);
  $("#filter-type").value = state.type;
  if (state.workspace && ![...$("#filter-workspace").options].some((option) => option.value === state.workspace)) {
    $("#filter-workspace").append(element("option", { value: state.workspace, text: state.workspace }));
  }
  $("#filter-workspace").value = state.workspace;
  if (state.ws && state.ws !== currentWorkspace()) chooseWorkspace(state.ws, { updateUrl: false });
  if (JSON.stringify(filtersFromState(state)) !== listedFilters) loadJobs();
  for (const entry of rows.values()) entry.row.querySelector(".job-title").href = jobLink(entry.job.job_id);
  for (const link of document.querySelectorAll("a[data-doc]")) {
    link.href = documentHash(link.dataset.ws, link.dataset.doc, link.dataset.span || "");
  }
  // A document's page goes over the job's page (its Back link returns there), the job's over the list.
  const showingDocument = Boolean(state.doc && state.ws);
  const showingJob = !showingDocument && Boolean(state.job);
  $("#jobs-view").hidden = showingDocument || showingJob;
  $("#job-view").hidden = !showingJob;
  $("#document-view").hidden = !showingDocument;
  $("#back").href = stateHash({ ...state, job: "" });
  $("#document-back").href = stateHash({ ...state, doc: "", span: "" });
  $("#document-back").textContent = state.job ? "← Back to the job" : "← All jobs";
  $("#app").classList.toggle("job-open", showingJob || showingDocument);
  if (showingJob) openJob(state.job);
  else closeJobView();
  if (showingDocument) openDocument(state.ws, state.doc, state.span);
  else closeDocument();
}

// -- wiring -----------------------------------------------------------------------------------------

$("#upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = $("#upload-status");
  status.classList.remove("error");
  const files = $("#files").files;
  const workspace = currentWorkspace();
  if (!workspace) { status.textContent = "⚠ Name a workspace first."; status.classList.add("error"); return; }
  if (!files.length) { status.textContent = "⚠ Choose at least one file."; status.classList.add("error"); return; }
  status.textContent = "Uploading…";
  try {
    const { data } = await uploadDocuments(workspace, files);
    const sent = data.documents;
    // The jobs reading this upload's files: its own (none when every file was a duplicate), and
    // those of an identical upload still being read (a resent request, say).
    const readers = [...new Set(sent.filter((file) => file.extracting && file.job_id).map((file) => file.job_id))];
    chooseWorkspace(workspace);
    await refreshWorkspaces();
    refreshDocuments();
    if (!readers.length) { status.textContent = uploadOutcome(sent, []).message; return; }
    status.textContent = data.job_id
      ? `Uploaded ${sent.filter((file) => !file.duplicate).length} file(s); reading them…`
      : `Already uploaded, still being read: ${sent.length} file(s)…`;
    if (data.job_id) {
      addStarted({ job_id: data.job_id, job_type: "extract_documents", workspace, status: "PENDING", seq: 0,
        message: "Job queued, waiting to start...", created_at: new Date().toISOString() });
    }
    // A worker reads the files (the extract_documents job): say how it went when every reader ended.
    const results = [];
    const upload = createJobsWatcher({
      onProgress: (job) => { if (job.message && !isFinished(job) && readers.length === 1) status.textContent = job.message; },
      onComplete: (result) => {
        results.push(result);
        if (results.length < readers.length) return;
        const outcome = uploadOutcome(sent, results);
        status.textContent = outcome.message;
        if (outcome.failed) status.classList.add("error");
        refreshWorkspaces().then(refreshDocuments);
        upload.close();
      },
      onError: (message) => {
        status.textContent = `⚠ ${message}`;
        status.classList.add("error");
        refreshDocuments();
        upload.close();
      },
    });
    for (const jobId of readers) upload.add(jobId);
  } catch (error) {
    status.textContent = `⚠ ${error.message}`;
    status.classList.add("error");
    refreshDocuments();
  }
});
$("#score-form").addEventListener("submit", (event) => { event.preventDefault(); start("score"); });
$("#audit-button").addEventListener("click", () => start("audit"));
$("#watch-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const jobId = $("#watch-id").value.trim();
  if (jobId) go({ job: jobId });
  $("#watch-id").value = "";
});
$("#workspace-form").addEventListener("submit", (event) => event.preventDefault());
$("#delete-workspace").addEventListener("click", async () => {
  const workspace = currentWorkspace();
  $("#workspace-error").textContent = "";
  if (!workspace || !window.confirm(`Delete workspace “${workspace}” and its documents? Its jobs stay listed.`)) return;
  try {
    await api("DELETE", `/workspaces/${encodeURIComponent(workspace)}`);
    localStorage.removeItem(workspaceKey());
    chooseWorkspace("");
    await refreshWorkspaces();
    await refreshDocuments();
  } catch (error) {
    $("#workspace-error").textContent = `✖ ${error.message}`; // e.g. 409: one of its jobs is still running
  }
});
$("#workspace-jobs").addEventListener("click", (event) => {
  event.preventDefault();
  go({ workspace: currentWorkspace(), status: "", type: "", job: "" });
});
$("#workspace").addEventListener("change", () => chooseWorkspace(currentWorkspace()));
$("#workspaces").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-workspace]");
  if (button) chooseWorkspace(button.dataset.workspace);
});
$("#filter-status").addEventListener("change", (event) => go({ status: event.target.value, job: "" }));
$("#filter-type").addEventListener("change", (event) => go({ type: event.target.value, job: "" }));
$("#filter-workspace").addEventListener("change", (event) => go({ workspace: event.target.value, job: "" }));
$("#refresh").addEventListener("click", () => { loadJobs(); refreshFleet(); refreshWorkspaces(); refreshChart(); });
$("#admin-form").addEventListener("submit", (event) => {
  event.preventDefault(); // nothing goes to the address bar (the field has no name either)
  adminToken = $("#admin-token").value.trim();
  if (adminToken) showQueues();
});
$("#older").addEventListener("click", () => loadJobs({ older: true }));
window.addEventListener("hashchange", () => {
  const key = takeLinkKey(); // a login link pasted into this tab: the key goes before anything else
  if (key) useKey(key).then(() => appShown || enter());
  if (appShown) route();
});
window.addEventListener("storage", (event) => {
  // Another tab logged out or switched tenant: what this one shows is the old tenant's.
  if (event.key === TENANT_KEY && shownTenant && event.newValue !== shownTenant) startClean();
});
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault(); // the address bar holds the console's state, not an anchor
  $("#main-panel").focus();
});
setInterval(mergeNewest, LIST_REFRESH_MS);
// Running times move on by themselves.
setInterval(() => { for (const entry of rows.values()) if (!isFinished(entry.job)) entry.tick(); }, 1000);

async function showApp() {
  if (appShown) return;
  appShown = true;
  $("#login").hidden = true;
  $("#app").hidden = false;
  refreshFleet();
  setInterval(refreshFleet, FLEET_REFRESH_MS);
  refreshChart();
  setInterval(refreshChart, CHART_REFRESH_MS);
  await refreshWorkspaces();
  const state = readState();
  const remembered = localStorage.getItem(workspaceKey()) || "";
  const first = knownWorkspaces.length ? knownWorkspaces[0].name : "";
  const exists = (name) => knownWorkspaces.some((ws) => ws.name === name);
  // The form is usable while the workspaces load: a name typed meanwhile is the user's latest
  // word, and must not be replaced by a default (an upload would go to another workspace).
  chooseWorkspace(currentWorkspace() || state.ws || (exists(remembered) ? remembered : first));
  route();
}

// -- the session: the login form, login links, switching tenant -----------------------------------------

let shownTenant = ""; // the tenant this page shows (none before its session is known)
let appShown = false;

const workspaceKey = () => `${WORKSPACE_KEY}:${shownTenant}`;

async function showSession() {
  const { data } = await whoAmI();
  shownTenant = data.tenant;
  localStorage.setItem(TENANT_KEY, data.tenant);
  $("#tenant").textContent = `Tenant ${data.tenant}`;
  $("#who").hidden = false;
}

/** The console of the session's tenant, or the login form when there is no session. */
async function enter() {
  try {
    await showSession();
  } catch {
    $("#login").hidden = false;
    $("#fleet").textContent = "Not logged in";
    return;
  }
  showApp();
}

/** Another tenant's session from now on: load the page again with nothing of the old one (no view
 * in the address, nothing in memory; remembered workspaces are per tenant). */
function startClean() {
  history.replaceState(null, "", window.location.pathname);
  window.location.reload();
}

/** A login link's key (#key=…, as a local set-up prints), taken out of the address bar and out of
 * its history entry before anything else happens; the fragment never reaches a server. */
function takeLinkKey() {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const key = fragment.get("key");
  if (!key) return "";
  fragment.delete("key");
  const rest = fragment.toString();
  history.replaceState(null, "", window.location.pathname + window.location.search + (rest ? `#${rest}` : ""));
  return key;
}

/** Log in with a key (a link's, or the form's). A live session of another tenant is never replaced
 * without asking: the server refuses (409) and names both tenants, and the user chooses. */
async function useKey(key, { fromLink = true } = {}) {
  $("#link-error").textContent = "";
  try {
    const { data } = await login(key);
    if (shownTenant && data.tenant !== shownTenant) { // this page showed another tenant's
      localStorage.setItem(TENANT_KEY, data.tenant);
      startClean();
    }
  } catch (error) {
    const failure = error.response && error.response.data && error.response.data.error;
    if (failure && failure.code === "session_conflict") return askToSwitch(key, failure.tenant, failure.current_tenant);
    const where = appShown ? "#link-error" : "#login-error";
    $(where).textContent = fromLink ? `⚠ That login link did not work: ${error.message}` : `⚠ ${error.message}`;
  }
}

let promptDone = null; // the open prompt's end (a newer link replaces it)

/** "This link logs you in as tenant B. You are logged in as tenant A." Switch, or stay: nothing
 * changes until the user says so. The key stays in this closure only. Resolves once they stayed. */
function askToSwitch(key, tenant, current) {
  if (promptDone) promptDone.abort();
  const done = new AbortController();
  promptDone = done;
  const dialog = $("#link-prompt");
  $("#link-prompt-text").textContent = `This link logs you in as tenant ${tenant}. You are logged in as tenant ${current}.`;
  $("#link-prompt-error").textContent = "";
  $("#link-switch").textContent = `Switch to ${tenant}`;
  $("#link-stay").textContent = `Stay as ${current}`;
  $("#link-switch").disabled = false;
  return new Promise((resolve) => {
    const on = (target, type, handler) => target.addEventListener(type, handler, { signal: done.signal });
    done.signal.addEventListener("abort", resolve);
    const stay = () => { done.abort(); if (dialog.open) dialog.close(); };
    on($("#link-stay"), "click", stay);
    on(dialog, "cancel", stay); // Escape
    on($("#link-switch"), "click", async () => {
      $("#link-switch").disabled = true;
      try {
        await login(key, { replace: true });
        localStorage.setItem(TENANT_KEY, tenant); // the other tabs start over now, not after this one's reload
        startClean();
      } catch (error) {
        $("#link-prompt-error").textContent = `⚠ ${error.message}`;
        $("#link-switch").disabled = false; // a 503 passes; a revoked key says so again
      }
    });
    if (!dialog.open) dialog.showModal();
  });
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("#login-error").textContent = "";
  const key = $("#key").value.trim();
  $("#key").value = "";
  await useKey(key, { fromLink: false });
  if (!appShown) enter();
});
$("#logout").addEventListener("click", async () => {
  await logout();
  localStorage.removeItem(TENANT_KEY); // the console's other tabs start over too
  startClean();
});

async function boot() {
  localStorage.removeItem(WORKSPACE_KEY); // one name for every tenant, from before: not to be trusted
  const key = takeLinkKey();
  if (key) await useKey(key);
  await enter();
}

boot();
