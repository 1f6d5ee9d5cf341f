// fleet.js — the header's counts and the "Workers and queues" panel, drawn from the body of
// GET /worker/status: pushed as `fleet` events on the tenant's stream, fetched while it is down.
import { getWorkerStatus } from "../jobs-client.js";
import { $, element, plural, span } from "./dom.js";

let latest = null; // the last figures drawn
const listeners = new Set();

/** Call `listener(data)` with every new set of figures (the admin panel's counts follow them). */
export const onFleet = (listener) => listeners.add(listener);

/** The figures, as the stream pushed them or a fetch read them. */
export function showFleet(data) {
  latest = data;
  const threads = data.workers.reduce((sum, worker) => sum + (worker.threads || 0), 0);
  const running = data.workers.reduce((sum, worker) => sum + (typeof worker.running === "number" ? worker.running : 0), 0);
  const parts = [plural(data.workers.length, "worker"), plural(threads, "thread"), `${running} running`,
    `${data.jobs_in_queue} waiting`];
  if (data.status !== "running") parts.push(data.status);
  $("#fleet").textContent = parts.join(" · ");
  $("#fleet").dataset.state = data.status;
  $("#workers").replaceChildren(...data.workers.map((worker, index) => {
    const name = worker.host ? `${worker.host}${worker.pid ? ` (pid ${worker.pid})` : ""}` : `Worker ${index + 1}`;
    const age = worker.seconds_since_heartbeat;
    const busy = typeof worker.running === "number" ? `, ${worker.running} busy` : "";
    return element("li", { "data-state": worker.state },
      element("strong", { text: name }),
      element("span", { text: ` · ${plural(worker.threads, "thread")}${busy}` }),
      element("span", { class: "worker-state", text: ` · ${worker.state}` }),
      element("span", { class: "muted", text: ` · heartbeat ${age === null || age === undefined ? "—" : `${span(age)} ago`}` }),
      worker.queues ? element("span", { class: "muted", text: ` · queues: ${worker.queues.join(", ")}` }) : "");
  }));
  if (!data.workers.length) $("#workers").append(element("li", { class: "error", text: "⚠ No worker is running: jobs wait until one starts." }));
  $("#queues").replaceChildren(element("dt", { text: "Jobs waiting" }), element("dd", { text: String(data.jobs_in_queue) }));
  for (const listener of listeners) listener(data);
}

export function showFleetDown(error) {
  const data = error && error.response && error.response.data;
  $("#fleet").textContent = data && data.status === "down" ? "⚠ Redis is unavailable" : "⚠ Service unreachable";
  $("#fleet").dataset.state = "down";
}

/** The figures fetched (while no stream pushes them). */
export async function refreshFleet() {
  try {
    const { data } = await getWorkerStatus();
    showFleet(data);
  } catch (error) {
    showFleetDown(error);
  }
}

export const lastFleet = () => latest;
