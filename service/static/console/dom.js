// dom.js — what every part of the console draws with: elements, words for times and counts, the
// status badge and the progress bar. Knows nothing of jobs' types or of the service.

export const $ = (selector) => document.querySelector(selector);
const SVG = "http://www.w3.org/2000/svg";
export const FINISHED = new Set(["SUCCESS", "FAILURE", "CANCELLED"]);
export const isFinished = (job) => FINISHED.has(job.status);

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children);
  return node;
}

export function svgElement(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** "1 file", "3 files"; `many` when the plural is not the word and an s. */
export const plural = (count, word, many = `${word}s`) => `${count} ${count === 1 ? word : many}`;

export const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "—");
export const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

/** A length of time in words: "320 ms", "4.2 s", "3 min 5 s", "2 h 10 min". */
export function span(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 90) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "just now", "5 s ago", "3 min ago", "2 h ago", "4 days ago" (the exact time is its title). */
export function ago(iso, now = Date.now()) {
  if (!iso) return "—";
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${plural(Math.floor(seconds / 86400), "day")} ago`;
}

/** How long the job ran (or has run, or has waited): seconds, or null. */
export function runSeconds(job, now = Date.now()) {
  if (job.started_at && job.finished_at) return (Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000;
  if (job.status === "STARTED" && job.started_at) return (now - Date.parse(job.started_at)) / 1000;
  return null;
}

/** "took 1.2 s", "running for 8 s", "waiting for 3 s", "ended after 2 s". */
export function duration(job, now = Date.now()) {
  if (job.started_at && job.finished_at) return `took ${span(runSeconds(job))}`;
  if (job.status === "STARTED" && job.started_at) return `running for ${span(runSeconds(job, now))}`;
  if (job.status === "PENDING" && job.created_at) return `waiting for ${span((now - Date.parse(job.created_at)) / 1000)}`;
  if (job.finished_at && job.created_at) return `ended after ${span((Date.parse(job.finished_at) - Date.parse(job.created_at)) / 1000)}`;
  return "";
}

export const errorText = (job) => (job.error ? `${job.error.type}: ${job.error.message}` : "");

/** The status as a badge: its word, and an icon (drawn by the style sheet), never colour alone. */
export function badge(status) {
  return element("span", { class: "badge job-status", "data-status": status, text: status });
}

export function setBadge(node, status) {
  node.dataset.status = status;
  node.textContent = status;
}

/** A progress bar that tells the truth: shown only while a job waits or runs (a finished job's
 * badge says how it ended), moving (indeterminate) while it runs without saying how far it is. */
export function showProgress(bar, job) {
  bar.hidden = isFinished(job);
  if (bar.hidden) return;
  if (job.progress !== null && job.progress !== undefined) bar.value = job.progress;
  else if (job.status === "PENDING") bar.value = 0;
  else bar.removeAttribute("value");
}

/** A name and a value in a <dl>; nothing when there is no value. */
export function field(list, name, value) {
  if (value === null || value === undefined || value === "") return;
  list.append(element("dt", { text: name }), element("dd", {}, value));
}
