// app.js — the operations console at /: every job the tenant may see (filtered, searched, paged,
// live), a page per job, the workers and queues, the workspaces and a page per document. It wires
// the modules of console/ together and routes the address bar's state to them; no build step.
//
// Live: one tenant-wide stream (console/live.js) carries every job's changes, new jobs started
// anywhere, and the fleet's counts; nothing is polled while it is open. The contract domain's
// types, results and start panel are console/contracts.js's: the rest knows no job type.
import { $ } from "./console/dom.js";
import { wireAdmin } from "./console/admin.js";
import { chartSoon, refreshChart } from "./console/chart.js";
import { wireStartPanel } from "./console/contracts.js";
import { wireBulk } from "./console/bulk.js";
import { closeDocument, openDocument } from "./console/document-page.js";
import { refreshFleet, showFleet } from "./console/fleet.js";
import { closeJobView, openJob, setJobPageReadOnly } from "./console/job-page.js";
import {
  jobChanged, jobStarted, loadJobs, mergeNewest, setLive, setReadOnly, showFilters, wireJobsList,
} from "./console/jobs-list.js";
import { followTenant } from "./console/live.js";
import { boot, session, takeLinkIn } from "./console/session.js";
import { documentHash, go, readState, setRouter, stateHash } from "./console/state.js";
import {
  chooseWorkspace, currentWorkspace, firstWorkspace, refreshDocuments, refreshWorkspaces, wireWorkspaces, workspaceNames,
} from "./console/workspaces.js";

/** While the tenant's stream is down: the list and the counts are read again this often. */
const POLL_MS = { list: 10000, fleet: 5000 };
const CHART_REFRESH_MS = 30000;
let listShown = false;

function route() {
  const state = readState();
  if (state.ws && state.ws !== currentWorkspace()) chooseWorkspace(state.ws, { updateUrl: false });
  showFilters(state, workspaceNames());
  for (const link of document.querySelectorAll("a[data-doc]")) {
    link.href = documentHash(link.dataset.ws, link.dataset.doc, link.dataset.span || "");
  }
  // A document's page goes over the job's page (its Back link returns there), the job's over the list.
  const showingDocument = Boolean(state.doc && state.ws);
  const showingJob = !showingDocument && Boolean(state.job);
  const showingList = !showingDocument && !showingJob;
  if (showingList && !listShown) mergeNewest(); // back from a page: what changed meanwhile
  listShown = showingList;
  $("#jobs-view").hidden = !showingList;
  $("#job-view").hidden = !showingJob;
  $("#document-view").hidden = !showingDocument;
  $("#back").href = stateHash({ ...state, job: "" });
  $("#document-back").href = stateHash({ ...state, doc: "", span: "" });
  $("#document-back").textContent = state.job ? "← Back to the job" : "← All jobs";
  $("#app").classList.toggle("job-open", !showingList);
  if (showingJob) openJob(state.job);
  else closeJobView();
  if (showingDocument) openDocument(state.ws, state.doc, state.span);
  else closeDocument();
}

/** The tenant's stream, and polling only while it is down. */
function goLive() {
  const timers = [];
  const poll = (live) => {
    for (const timer of timers.splice(0)) clearInterval(timer);
    $("#jobs").dataset.transport = live ? "sse" : "poll";
    setLive(live);
    if (live) return;
    timers.push(setInterval(mergeNewest, POLL_MS.list), setInterval(refreshFleet, POLL_MS.fleet));
  };
  // Until the stream is heard or refused, the list and the fleet are polled, but no job is
  // followed on a stream of its own: one opened now would be closed at the stream's first event.
  $("#jobs").dataset.transport = "poll";
  timers.push(setInterval(mergeNewest, POLL_MS.list), setInterval(refreshFleet, POLL_MS.fleet));
  followTenant({ onJob: jobChanged, onFleet: showFleet, onLive: poll });
}

async function showApp() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  const readOnly = session.role === "viewer";
  setReadOnly(readOnly);
  setJobPageReadOnly(readOnly);
  refreshFleet();
  refreshChart();
  setInterval(refreshChart, CHART_REFRESH_MS);
  await refreshWorkspaces();
  // The form is usable while the workspaces load: a name typed meanwhile is the user's latest
  // word, and must not be replaced by a default (an upload would go to another workspace).
  chooseWorkspace(firstWorkspace());
  route();
  goLive();
}

setRouter(route);
wireJobsList({ ended: chartSoon });
wireBulk();
wireStartPanel({ currentWorkspace, onStarted: jobStarted });
wireWorkspaces({
  tenantOf: () => session.tenant,
  onStarted: jobStarted,
  route,
  showJobs: (workspace) => go({ workspace, status: "", type: "", q: "", since: "", job: "" }),
});
wireAdmin({ started: () => mergeNewest() });
$("#refresh").addEventListener("click", () => { loadJobs(); refreshFleet(); refreshWorkspaces().then(refreshDocuments); refreshChart(); });
$("#watch-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const jobId = $("#watch-id").value.trim();
  if (jobId) go({ job: jobId });
  $("#watch-id").value = "";
});
window.addEventListener("hashchange", async () => {
  await takeLinkIn(); // a login link pasted into this tab: its key goes first, out of the address
  if (session.shown) route();
});
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault(); // the address bar holds the console's state, not an anchor
  $("#main-panel").focus();
});
boot({ show: showApp });
