// results.js — what the console knows of each job type: its label, how its result is drawn, and
// whether it can be run again. A domain registers its types here (contracts.js does); the core
// asks here and knows no type: an unregistered type shows its result as JSON.
import { element } from "./dom.js";

const types = new Map(); // job type -> {label, render(job, box)}

/** A job type of a domain: `label` ("Score"), `render(job, box)` draws a SUCCESS job's result. */
export function registerJobType(type, { label, render }) {
  types.set(type, { label, render });
}

export const typeLabel = (type) => (types.get(type) && types.get(type).label) || type;
export const knownTypes = () => [...types.keys()];

/** The result of a finished job in `box`: by its type's renderer, or as JSON. */
export function renderResult(job, box) {
  const kind = types.get(job.job_type);
  if (kind && kind.render) kind.render(job, box);
  else box.replaceChildren(element("pre", { text: JSON.stringify(job.result, null, 2) }));
}
