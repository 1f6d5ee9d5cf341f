// document-page.js — a document's page: what is known of it and its text, a quoted passage
// highlighted and scrolled to (the evidence links of a job's result open it).
import { request } from "../jobs-client.js";
import { $, dateTime, element, field } from "./dom.js";

let shown = ""; // the workspace, document and passage on show, so that routing again keeps them
let asked = 0; // the latest fetch; an older one answering later is dropped

/** {start, end} from "start-end", or null. */
function parseSpan(span) {
  const found = /^(\d+)-(\d+)$/.exec(span || "");
  if (!found) return null;
  const [start, end] = [Number(found[1]), Number(found[2])];
  return end > start ? { start, end } : null;
}

export function closeDocument() {
  shown = "";
  asked += 1;
}

export async function openDocument(workspace, docId, span) {
  const key = JSON.stringify([workspace, docId, span]);
  if (shown === key) return;
  shown = key;
  const call = (asked += 1);
  $("#document-title").textContent = "Document";
  window.scrollTo(0, 0);
  $("#document-title").focus({ preventScroll: true }); // keyboard and screen-reader users land on the page they opened
  for (const id of ["#document-fields", "#document-text"]) $(id).replaceChildren();
  $("#document-note").textContent = "";
  $("#document-error").textContent = "";
  $("#document-view").dataset.doc = docId;
  try {
    const path = `/workspaces/${encodeURIComponent(workspace)}/documents/${encodeURIComponent(docId)}`;
    const { data } = await request("GET", path);
    if (call === asked) showDocument(data, parseSpan(span));
  } catch (error) {
    if (call !== asked) return;
    shown = ""; // a click on the same link, or a reload, asks again (it may be read by now)
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
