// workspaces.js — the side panel's workspaces: choosing one (remembered per tenant), its documents
// (the first few, then "Show all"), uploading files into it and saying what became of them.
import { createJobsWatcher, request, uploadDocuments } from "../jobs-client.js";
import { $, element, isFinished, plural } from "./dom.js";
import { documentLink, readState, replace, stateHash } from "./state.js";

// The workspace last chosen, remembered per tenant (WORKSPACE_KEY:<tenant>): another tenant's
// console never starts in it. WORKSPACE_KEY alone held one name for every tenant: dropped.
export const WORKSPACE_KEY = "console.workspace";
/** Documents listed before "Show all": a long workspace must not push the jobs out of sight. */
const DOCUMENTS_SHOWN = 8;
/** A tenant with no workspace yet starts in this one (uploading creates it). */
const DEFAULT_WORKSPACE = "contracts";

let known = [];
let documentsAsked = 0; // the latest refresh; an older one answering later is dropped
let showAll = false;
let chosen = null; // the workspace last chosen (the input may already hold the next one)
let tenant = () => "";
let onRoute = () => {};

const workspaceKey = () => `${WORKSPACE_KEY}:${tenant()}`;
export const currentWorkspace = () => $("#workspace").value.trim();
export const workspaceNames = () => known.map((ws) => ws.name);
const exists = (name) => known.some((ws) => ws.name === name);

export async function refreshWorkspaces() {
  try {
    const { data } = await request("GET", "/workspaces");
    known = data.workspaces;
  } catch {
    known = [];
  }
  $("#workspace-names").replaceChildren(...known.map((ws) => element("option", { value: ws.name })));
  $("#workspaces").replaceChildren(...known.map((ws) => {
    const chosen = ws.name === currentWorkspace();
    return element("li", {}, element("button", {
      type: "button", class: chosen ? "chip chosen" : "chip", "aria-pressed": chosen ? "true" : "false",
      "data-workspace": ws.name, text: `${ws.name} (${ws.documents})`,
    }));
  }));
}

export async function refreshDocuments() {
  const asked = (documentsAsked += 1);
  const workspace = currentWorkspace();
  const items = [];
  // Only a workspace that exists is asked about (a new name has no documents yet: no 404).
  if (workspace && exists(workspace)) {
    try {
      const { data } = await request("GET", `/workspaces/${encodeURIComponent(workspace)}/documents`);
      for (const doc of data.documents) {
        items.push(element("li", { "data-doc": doc.doc_id },
          documentLink(workspace, doc.doc_id, "", { class: "document-link", text: doc.filename }),
          ` — ${plural(doc.characters, "character")}${doc.pages ? `, ${plural(doc.pages, "page")}` : ""}`));
      }
      for (const doc of data.extracting) {
        items.push(element("li", { text: `${doc.filename} — being read…`, "data-state": "extracting" }));
      }
    } catch {
      // the list is a convenience; the upload status says what went wrong
    }
  }
  if (asked !== documentsAsked) return;
  const shown = showAll ? items : items.slice(0, DOCUMENTS_SHOWN);
  $("#documents").replaceChildren(...shown);
  if (shown.length < items.length) {
    const more = element("button", { type: "button", class: "plain small", text: `Show all ${items.length} documents` });
    more.addEventListener("click", () => { showAll = true; refreshDocuments(); });
    $("#documents").append(element("li", { class: "more" }, more));
  }
  if (!items.length) $("#documents").append(element("li", { class: "muted", "data-empty": "", text: workspace ? "No documents yet: upload some." : "Choose or name a workspace." }));
  $("#workspace-jobs").href = stateHash({ ws: workspace, workspace });
  $("#workspace-jobs").hidden = !workspace;
  $("#delete-workspace").hidden = !exists(workspace);
}

export function chooseWorkspace(name, { updateUrl = true } = {}) {
  if (name !== chosen) {
    chosen = name;
    showAll = false;
    $("#upload-status").textContent = ""; // what an upload did was another workspace's
    $("#upload-status").classList.remove("error");
  }
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
    replace({ ws: name, ...(open ? { doc: "", span: "" } : {}) });
    if (open) onRoute();
  }
  refreshDocuments();
}

/** The workspace to start in: the one typed meanwhile, the address's, the remembered one, the first. */
export function firstWorkspace() {
  const remembered = localStorage.getItem(workspaceKey()) || "";
  return currentWorkspace() || readState().ws || (exists(remembered) ? remembered : (known[0] && known[0].name) || DEFAULT_WORKSPACE);
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
  if (added || unreadable.length || !already.length) parts.push(`Added ${plural(added, "document")}.`);
  else parts.push("Nothing new.");
  if (already.length) parts.push(`Already in the workspace: ${already.join(", ")}.`);
  if (copies.length) parts.push(`The same as another file of this upload, stored once: ${copies.join(", ")}.`);
  if (unreadable.length) parts.push(`Not readable: ${unreadable.map((f) => `${f.filename}: ${f.reason}`).join("; ")}`);
  return { message: parts.join(" "), failed: unreadable.length > 0 };
}

async function upload(onStarted) {
  const status = $("#upload-status");
  const say = (text, failed = false) => { status.textContent = text; status.classList.toggle("error", failed); };
  const files = $("#files").files;
  const workspace = currentWorkspace();
  if (!workspace) return say("⚠ Name a workspace first.", true);
  if (!files.length) return say("⚠ Choose at least one file.", true);
  say(`Uploading ${plural(files.length, "file")}…`);
  try {
    const { data } = await uploadDocuments(workspace, files);
    const sent = data.documents;
    // The jobs reading this upload's files: its own (none when every file was a duplicate), and
    // those of an identical upload still being read (a resent request, say).
    const readers = [...new Set(sent.filter((file) => file.extracting && file.job_id).map((file) => file.job_id))];
    chooseWorkspace(workspace);
    await refreshWorkspaces();
    refreshDocuments();
    if (!readers.length) return say(uploadOutcome(sent, []).message);
    say(data.job_id ? `Uploaded ${plural(sent.filter((file) => !file.duplicate).length, "file")}; reading them…`
      : `Already uploaded, still being read: ${plural(sent.length, "file")}…`);
    if (data.job_id) {
      onStarted({ job_id: data.job_id, job_type: "extract_documents", workspace, status: "PENDING", seq: 0,
        message: "Job queued, waiting to start...", created_at: new Date().toISOString() });
    }
    // A worker reads the files (the extract_documents job): say how it went when every reader ended.
    const results = [];
    const watcher = createJobsWatcher({
      onProgress: (job) => { if (job.message && !isFinished(job) && readers.length === 1 && currentWorkspace() === workspace) say(job.message); },
      onComplete: (result) => {
        results.push(result);
        if (results.length < readers.length) return;
        const outcome = uploadOutcome(sent, results);
        if (currentWorkspace() === workspace) say(outcome.message, outcome.failed);
        refreshWorkspaces().then(refreshDocuments);
        watcher.close();
      },
      onError: (message) => {
        if (currentWorkspace() === workspace) say(`⚠ ${message}`, true);
        refreshDocuments();
        watcher.close();
      },
    });
    for (const jobId of readers) watcher.add(jobId);
  } catch (error) {
    say(`⚠ ${error.message}`, true);
    refreshDocuments();
  }
}

/** The panel's forms. `tenantOf()` names the tenant shown (workspaces are remembered per tenant),
 * `onStarted(job)` hears of an upload's reading job, `route()` shows the address's state again. */
export function wireWorkspaces({ tenantOf, onStarted, route, showJobs }) {
  tenant = tenantOf;
  onRoute = route;
  localStorage.removeItem(WORKSPACE_KEY); // one name for every tenant, from before: not to be trusted
  $("#upload-form").addEventListener("submit", (event) => { event.preventDefault(); upload(onStarted); });
  $("#workspace-form").addEventListener("submit", (event) => event.preventDefault());
  $("#workspace").addEventListener("change", () => chooseWorkspace(currentWorkspace()));
  $("#workspaces").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-workspace]");
    if (button) chooseWorkspace(button.dataset.workspace);
  });
  $("#workspace-jobs").addEventListener("click", (event) => {
    event.preventDefault();
    showJobs(currentWorkspace());
  });
  $("#delete-workspace").addEventListener("click", async () => {
    const workspace = currentWorkspace();
    $("#workspace-error").textContent = "";
    if (!workspace || !window.confirm(`Delete workspace “${workspace}” and its documents? Its jobs stay listed.`)) return;
    try {
      await request("DELETE", `/workspaces/${encodeURIComponent(workspace)}`);
      localStorage.removeItem(workspaceKey());
      chooseWorkspace("");
      await refreshWorkspaces();
      await refreshDocuments();
    } catch (error) {
      $("#workspace-error").textContent = `✖ ${error.message}`; // e.g. 409: one of its jobs is still running
    }
  });
}
