// contracts.js — the contract domain's part of the console: the job types it starts (score, audit,
// extract), how their results are drawn (a ranking, a checklist, the documents read), and the
// "Start a job" panel. Everything else in the console is generic.
import { auditContracts, scoreContracts } from "../jobs-client.js";
import { $, element, plural } from "./dom.js";
import { registerJobType } from "./results.js";
import { documentLink, spanOf } from "./state.js";

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

function renderScores(job, box) {
  const result = job.result;
  const table = element("table", { "data-job": job.job_id, class: "scores" });
  table.append(element("caption", { text: `Scores for “${result.criterion}” (out of ${result.max_score})` }));
  table.append(element("thead", {}, element("tr", {}, ...["#", "Contract", "Score", "Why", "Best evidence"]
    .map((name) => element("th", { scope: "col", text: name })))));
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
}

function checkItem(job, contract, item, mark, found) {
  const confidence = typeof item.confidence === "number" ? ` (confidence ${Math.round(item.confidence * 100)} %)` : "";
  return element("li", { "data-found": found },
    element("span", { class: "mark", text: mark }),
    element("span", { text: ` ${item.item}${confidence}` }),
    item.reason ? element("span", { class: "reason muted", text: ` — ${item.reason}` }) : "",
    item.evidence ? evidenceLink(job, contract, item.evidence, item.start, item.end, "q") : "");
}

function renderAudit(job, box) {
  const result = job.result;
  const blocks = result.contracts.map((contract) => {
    const items = element("ul", { class: "checklist" });
    for (const item of contract.items) {
      items.append(checkItem(job, contract, item, item.found ? "✔ found" : "✖ missing", item.found ? "yes" : "no"));
    }
    for (const flag of contract.risk_flags || []) {
      if (flag.found) items.append(checkItem(job, contract, flag, "⚠ risk", "risk"));
    }
    return element("article", { class: "audit" }, element("h4", { text: contract.filename }),
      element("p", { class: "summary", text: contract.summary }), items);
  });
  box.replaceChildren(element("p", { text: `Checklist: ${result.checklist.join(", ")}` }), ...blocks);
}

function renderExtraction(job, box) {
  const result = job.result;
  const pages = (doc) => (doc.pages ? `, ${plural(doc.pages, "page")}` : "");
  const read = element("ul", {}, ...result.documents.map((doc) => element("li", {
    text: `✔ ${doc.filename} — ${plural(doc.characters, "character")}${pages(doc)}` })));
  const failed = element("ul", { class: "error" }, ...result.failed.map((doc) => element("li", { text: `✖ ${doc.filename}: ${doc.reason}` })));
  box.replaceChildren(element("p", { text: `${plural(result.documents.length, "document")} read, ${result.failed.length} failed` }), read, failed);
}

registerJobType("score_contracts", { label: "Score", render: renderScores });
registerJobType("audit_contracts", { label: "Audit", render: renderAudit });
registerJobType("extract_documents", { label: "Extract", render: renderExtraction });

/** The "Start a job" panel: Score and Audit the chosen workspace's contracts. `onStarted(job)`
 * gets the new job (its 202 answer, with its type and workspace). */
export function wireStartPanel({ currentWorkspace, onStarted }) {
  const say = (text, kind = "") => {
    $("#start-status").textContent = text;
    $("#start-status").dataset.kind = kind;
  };
  const start = async (kind) => {
    const workspace = currentWorkspace();
    if (!workspace) { say("⚠ Choose a workspace first.", "error"); return; }
    const buttons = [$("#score"), $("#audit-button")];
    for (const button of buttons) button.disabled = true;
    const label = kind === "score" ? "Score" : "Audit";
    say(`Starting the ${label.toLowerCase()} of “${workspace}”…`, "busy");
    try {
      const response = kind === "score"
        ? await scoreContracts($("#criterion").value, workspace, Number($("#max-score").value), false, false, true)
        : await auditContracts(workspace, null, true);
      const type = kind === "score" ? "score_contracts" : "audit_contracts";
      const job = { ...response.data, job_type: type, workspace, seq: 0, created_at: new Date().toISOString() };
      say(`${label} job ${job.job_id.slice(0, 8)} started: it is at the top of the jobs list.`, "done");
      onStarted(job);
    } catch (error) {
      say(`⚠ ${error.message}`, "error");
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  };
  $("#score-form").addEventListener("submit", (event) => { event.preventDefault(); start("score"); });
  $("#audit-button").addEventListener("click", () => start("audit"));
}
