// bulk.js — "Retry matching…" and "Cancel matching…": one request acts on up to 1,000 jobs the
// list's filters match (POST /bulk/retry, /bulk/cancel), after a confirmation that says how many
// (the same request with dry_run first). Retry takes finished jobs; cancel, those not finished.
import { request } from "../jobs-client.js";
import { $, plural } from "./dom.js";
import { filtersFromState } from "./jobs-list.js";

const ACTIONS = {
  retry: { states: ["FAILURE", "CANCELLED", "SUCCESS"], default: ["FAILURE", "CANCELLED"], verb: "Retry", done: "retried" },
  cancel: { states: ["PENDING", "STARTED"], default: ["PENDING", "STARTED"], verb: "Cancel", done: "cancelled" },
};

/** The body of a bulk request: the list's filters, its states narrowed to those the action takes. */
function bodyFor(action) {
  const { status, ...rest } = filtersFromState();
  const wanted = status ? status.split(",") : ACTIONS[action].default;
  return { ...rest, status: wanted.filter((state) => ACTIONS[action].states.includes(state)) };
}

const say = (text, failed = false) => {
  $("#bulk-note").textContent = text;
  $("#bulk-note").classList.toggle("error", failed);
};

async function run(action) {
  const { verb, done } = ACTIONS[action];
  const body = bodyFor(action);
  if (!body.status.length) return say(`⚠ None of the states chosen can be ${done}.`, true);
  const button = $(`#bulk-${action}`);
  button.disabled = true;
  try {
    const { data: count } = await request("POST", `/bulk/${action}`, { body: { ...body, dry_run: true } });
    if (!count.matched) return say(`No job matches: nothing to ${verb.toLowerCase()}.`);
    const many = `${count.more ? "the first " : ""}${plural(count.matched, "job")}`;
    if (!window.confirm(`${verb} ${many} matching these filters (${body.status.join(", ")})?`)) return say("");
    say(`${verb === "Retry" ? "Retrying" : "Cancelling"} ${many}…`);
    const { data } = await request("POST", `/bulk/${action}`, { body });
    // Why any was left alone, once per reason ("already_retried: …").
    const reasons = [...new Set(data.skipped.map((skip) => skip.message))].slice(0, 3).join("; ");
    const skipped = data.skipped.length ? `; ${plural(data.skipped.length, "job")} left alone (${reasons})` : "";
    const more = data.more ? "; more match: press again for the next ones" : "";
    say(`${plural(data.done.length, "job")} ${done}${skipped}${more}.`);
  } catch (error) {
    say(`⚠ ${error.message}`, true);
  } finally {
    button.disabled = false;
  }
}

export function wireBulk() {
  for (const action of Object.keys(ACTIONS)) $(`#bulk-${action}`).addEventListener("click", () => run(action));
}
