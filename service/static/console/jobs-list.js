// jobs-list.js — the jobs list: newest first, filtered (states, type, workspace, time range) and
// searched (id, type, arguments, result, error), one compact row per job with its age and
// duration, paged ("Older"), kept live by the tenant's stream (jobs.jobChanged), and the bulk
// actions on everything the filters match.
import { cancelJob, createJobsWatcher, listJobs } from "../jobs-client.js";
import { $, ago, badge, duration, element, errorText, isFinished, runSeconds, setBadge, showProgress, span } from "./dom.js";
import { knownTypes, typeLabel } from "./results.js";
import { go, jobLink, readState } from "./state.js";

const PAGE_SIZE = 25;
/** The time ranges offered, as the list's `since` says them, in seconds back from now. */
export const RANGES = { "1h": 3600, "24h": 86400, "7d": 7 * 86400 };

const rows = new Map(); // job id -> {job, row, update(job), tick()}
let listAsked = 0;
let nextCursor = null;
let listedFilters = null;
let readOnly = false;
// While the tenant's stream is down, the rows still running are followed on one multiplexed
// stream of their own (jobs-client's, which polls where streams do not get through).
let watcher = null;
let onEnded = () => {};

/** The list's query (for GET /jobs, and the bulk actions' body) from the address's state. */
export function filtersFromState(state = readState()) {
  const filters = {};
  if (state.status) filters.status = state.status;
  if (state.type) filters.job_type = state.type;
  if (state.workspace) filters.workspace = state.workspace;
  if (state.q) filters.q = state.q;
  if (RANGES[state.since]) filters.since = new Date(Date.now() - RANGES[state.since] * 1000).toISOString();
  return filters;
}

const filtersKey = (state) => JSON.stringify({ ...filtersFromState(state), since: state.since });

function matchesFilters(job) {
  const state = readState();
  const statuses = state.status ? state.status.split(",") : [];
  const since = RANGES[state.since];
  return (!statuses.length || statuses.includes(job.status)) && (!state.type || state.type === job.job_type)
    && (!state.workspace || state.workspace === job.workspace)
    && (!since || !job.created_at || Date.parse(job.created_at) >= Date.now() - since * 1000);
}

function jobRow(job) {
  const title = element("a", { class: "job-title", href: jobLink(job.job_id) });
  const status = badge(job.status);
  const created = element("time", { class: "job-created muted" });
  const took = element("span", { class: "job-duration muted" });
  const actions = element("span", { class: "job-actions" });
  const bar = element("progress", { max: "100", "aria-label": `Progress of ${typeLabel(job.job_type)} job ${job.job_id.slice(0, 8)}` });
  const message = element("span", { class: "job-message" });
  const error = element("p", { class: "job-error error", hidden: true });
  const meta = element("span", { class: "job-meta muted" });
  const row = element("li", { "data-job": job.job_id }, status, title, created, took, actions, bar, message, error, meta);
  let cancel = null;
  const entry = { job, row };
  entry.update = (next) => {
    if (next.seq !== undefined && entry.job.seq !== undefined && next.seq < entry.job.seq) return;
    const was = entry.job.status;
    entry.job = { ...entry.job, ...next };
    const current = entry.job;
    row.dataset.status = current.status;
    title.textContent = `${typeLabel(current.job_type)} · ${current.workspace || "no workspace"} · ${current.job_id.slice(0, 8)}`;
    setBadge(status, current.status);
    message.textContent = current.message || "";
    showProgress(bar, current);
    error.hidden = current.status !== "FAILURE" || !current.error;
    error.textContent = current.status === "FAILURE" ? `✖ Error — ${errorText(current)}` : "";
    entry.tick();
    if (was !== current.status && isFinished(current)) onEnded(current);
    if ((isFinished(current) || readOnly) && cancel) {
      cancel.remove(); // a finished job has nothing to cancel: no dead button
      cancel = null;
    } else if (!isFinished(current) && !readOnly && !cancel) {
      cancel = element("button", { type: "button", class: "danger small", text: "Cancel", "aria-label": `Cancel job ${current.job_id.slice(0, 8)}` });
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
    created.textContent = ago(current.created_at);
    created.setAttribute("datetime", current.created_at || "");
    created.title = current.created_at ? `Created ${new Date(current.created_at).toLocaleString()}` : "";
    const seconds = runSeconds(current);
    took.textContent = seconds === null ? "" : span(seconds);
    took.title = duration(current);
    meta.textContent = current.attempt > 1 ? `attempt ${current.attempt}` : "";
    meta.hidden = !meta.textContent;
  };
  row.addEventListener("click", (event) => {
    if (event.target.closest("a, button")) return;
    go({ job: job.job_id });
  });
  entry.update(job);
  rows.set(job.job_id, entry);
  if (watcher && !isFinished(job)) watcher.add(job.job_id);
  return row;
}

/** The tenant's stream is up (it carries every row's changes) or down (the rows are followed). */
export function setLive(live) {
  if (watcher) watcher.close();
  watcher = live ? null : createJobsWatcher({ onProgress: (job) => jobChanged(job) });
  if (watcher) for (const entry of rows.values()) if (!isFinished(entry.job)) watcher.add(entry.job.job_id);
}

/** A job among the rows by its creation time (newest first): true when it was put in. */
function place(job) {
  if (rows.has(job.job_id) || !matchesFilters(job)) return false;
  const created = Date.parse(job.created_at || "") || Date.now();
  const later = [...rows.values()].find((entry) => (Date.parse(entry.job.created_at || "") || 0) < created);
  if (!later && nextCursor) return false; // older than this page: "Older" brings it
  const row = jobRow(job);
  if (later) $("#jobs").insertBefore(row, later.row);
  else $("#jobs").append(row);
  row.classList.add("new");
  $("#jobs-empty").hidden = true;
  return true;
}

/** A job's change, from the tenant's stream or a page of this console: its row moves on, or a new
 * job the filters let in takes its place. With a search on, page one is read again (the server
 * knows what the search matches: arguments and results too). */
export function jobChanged(job) {
  const entry = rows.get(job.job_id);
  if (entry) entry.update(job);
  else if (readState().q) mergeSoon();
  else place(job);
}

/** A job this page started: at the top of the list (when the filters let it in), in sight. */
export function jobStarted(job) {
  jobChanged(job);
  const entry = rows.get(job.job_id);
  if (entry) entry.row.scrollIntoView({ block: "nearest" });
}

export async function loadJobs({ older = false } = {}) {
  const asked = (listAsked += 1);
  const state = readState();
  const filters = { ...filtersFromState(state), limit: PAGE_SIZE };
  if (older && nextCursor) filters.cursor = nextCursor;
  $("#jobs-error").textContent = "";
  try {
    const { data } = await listJobs(filters);
    if (asked !== listAsked) return;
    if (!older) {
      rows.clear();
      $("#jobs").replaceChildren();
      if (watcher) setLive(false); // a fresh stream for the new rows
    }
    nextCursor = data.next_cursor;
    for (const job of data.jobs) if (!rows.has(job.job_id)) $("#jobs").append(jobRow(job));
    addTypes(data.jobs);
    $("#older").hidden = !nextCursor;
    $("#jobs-empty").hidden = rows.size > 0;
    listedFilters = filtersKey(state);
  } catch (error) {
    if (asked === listAsked) $("#jobs-error").textContent = `⚠ Could not list the jobs: ${error.message}`;
  }
}

/** Page one again, quietly (when no stream keeps the list live, or a search may match a new job). */
export async function mergeNewest() {
  if (readState().job || document.hidden) return;
  const asked = listAsked;
  let data;
  try {
    ({ data } = await listJobs({ ...filtersFromState(), limit: PAGE_SIZE }));
  } catch {
    return; // the next round, or Refresh, tries again
  }
  if (asked !== listAsked) return; // the list was reloaded meanwhile
  for (const job of data.jobs) {
    const known = rows.get(job.job_id);
    if (known) known.update(job);
    else place(job);
  }
  addTypes(data.jobs);
}

let mergeTimer = null;
function mergeSoon() {
  if (!mergeTimer) mergeTimer = setTimeout(() => { mergeTimer = null; mergeNewest(); }, 500);
}

/** Every job type registered or seen can be filtered on. */
function addTypes(jobs) {
  const select = $("#filter-type");
  const have = new Set([...select.options].map((option) => option.value));
  for (const type of [...knownTypes(), ...jobs.map((job) => job.job_type)]) {
    if (type && !have.has(type)) {
      select.append(element("option", { value: type, text: `${typeLabel(type)} (${type})` }));
      have.add(type);
    }
  }
  select.value = readState().type;
}

/** The filters' controls from the address's state; the list again when they changed. */
export function showFilters(state, workspaces) {
  const statuses = new Set(state.status ? state.status.split(",") : []);
  for (const box of document.querySelectorAll("#filter-status input")) box.checked = statuses.has(box.value);
  if (state.type) addTypes([{ job_type: state.type }]);
  $("#filter-type").value = state.type;
  const names = new Set(workspaces);
  if (state.workspace) names.add(state.workspace);
  $("#filter-workspace").replaceChildren(element("option", { value: "", text: "Any workspace" }),
    ...[...names].sort().map((name) => element("option", { value: name, text: name })));
  $("#filter-workspace").value = state.workspace;
  $("#filter-since").value = state.since;
  if (document.activeElement !== $("#search")) $("#search").value = state.q;
  for (const entry of rows.values()) entry.row.querySelector(".job-title").href = jobLink(entry.job.job_id);
  if (filtersKey(state) !== listedFilters) loadJobs();
}

/** The filters' controls; `ended(job)` hears of every job the list saw end. */
export function wireJobsList({ ended }) {
  onEnded = ended;
  $("#filter-status").addEventListener("change", () => {
    const chosen = [...document.querySelectorAll("#filter-status input:checked")].map((box) => box.value);
    go({ status: chosen.join(","), job: "" });
  });
  $("#filter-type").addEventListener("change", (event) => go({ type: event.target.value, job: "" }));
  $("#filter-workspace").addEventListener("change", (event) => go({ workspace: event.target.value, job: "" }));
  $("#filter-since").addEventListener("change", (event) => go({ since: event.target.value, job: "" }));
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    go({ q: $("#search").value.trim(), job: "" });
  });
  $("#older").addEventListener("click", () => loadJobs({ older: true }));
  // Running times move on by themselves; ages every few seconds.
  let ticks = 0;
  setInterval(() => {
    ticks += 1;
    for (const entry of rows.values()) if (!isFinished(entry.job) || ticks % 10 === 0) entry.tick();
  }, 1000);
}

/** A viewer's key may look, not act: no Cancel buttons. */
export function setReadOnly(value) {
  readOnly = value;
  for (const entry of rows.values()) entry.update({});
}

export const listedJobs = () => [...rows.values()].map((entry) => entry.job);
