// state.js — the console's state in the address bar (#status=…&type=…&q=…&job=…): a reload, a link
// or the back button bring back the same filters, the same open job or document.

// status: states, comma separated; type; workspace (the list's filter); q: the search; since: a
// time range ("1h", "24h", "7d"); ws: the workspace chosen in the side panel; job: the open job;
// doc, span: the open document (of workspace ws) and its highlighted passage, "start-end".
import { element } from "./dom.js";

const STATE_KEYS = ["status", "type", "workspace", "q", "since", "ws", "job", "doc", "span"];

let onRoute = () => {};

/** What shows the state (called on every change of the address). */
export function setRouter(route) {
  onRoute = route;
}

export function readState() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  const state = {};
  for (const key of STATE_KEYS) state[key] = params.get(key) || "";
  return state;
}

export function stateHash(state) {
  const params = new URLSearchParams();
  for (const key of STATE_KEYS) if (state[key]) params.set(key, state[key]);
  const text = params.toString();
  return text ? `#${text}` : "#";
}

/** Change the state: a new history entry (the back button undoes it), then show it. */
export function go(changes) {
  const next = stateHash({ ...readState(), ...changes });
  if (next === (window.location.hash || "#")) onRoute();
  else window.location.hash = next; // hashchange shows it
}

/** The state changed without a new history entry (a choice that is no place to go back to). */
export function replace(changes) {
  history.replaceState(null, "", window.location.pathname + window.location.search + stateHash({ ...readState(), ...changes }));
}

export const jobLink = (jobId) => stateHash({ ...readState(), job: jobId, doc: "", span: "" });

/** "start-end" for a passage given as code-point offsets [start, end), or "" when it is not one. */
export function spanOf(start, end) {
  return Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start ? `${start}-${end}` : "";
}

/** A document's page (over the current view: its Back link returns there), a passage highlighted. */
export const documentHash = (workspace, docId, span = "") => stateHash({ ...readState(), ws: workspace, doc: docId, span });

/** A real link to a document's page; the router keeps its address current as the state changes. */
export function documentLink(workspace, docId, span, attributes, ...children) {
  const data = { "data-ws": workspace, "data-doc": docId, "data-span": span || null };
  return element("a", { ...attributes, ...data, href: documentHash(workspace, docId, span) }, ...children);
}
