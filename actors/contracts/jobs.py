"""The seed's two long-running jobs: ``score_contracts`` and ``audit_contracts``.

Both work on a workspace's documents (``documents.py``) and report one progress event per
contract; their jobs are grouped by workspace, so each workspace has one stream of all its jobs.
Scoring is offline and deterministic (``scoring.py``); with ``compare_chatgpt``
and the client's consent (``share_data_with_chatgpt``) each contract is also scored by the
configured LLM and the difference is reported. Without consent no contract text ever leaves the
machine: the request is refused before anything is queued, and the actor checks again.

Result schemas are documented, with examples, in the README ("Contract results").
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from actors.jobs import JobContext, current_job, job, report_progress
from actors.jobs.errors import InvalidPayload

from .audit import (
    MAX_CHECKLIST_ITEMS,
    MAX_PHRASE_CHARS,
    MAX_PHRASES_PER_ITEM,
    audit_contract,
    parse_checklist,
)
from .documents import WORKSPACE_NAME_PATTERN
from .errors import DataSharingRefused, EmptyWorkspace, LLMError, WorkspaceError
from .llm import LLMScorer
from .resources import ContractResources
from .scoring import Contract, ContractScorer

MAX_SCORE_LIMIT = 1000
MAX_CRITERION_CHARS = 2000
#: The argument that names a job's workspace (the seed's name for it); jobs are grouped by it.
WORKSPACE_ARGUMENT = "workspace_name"

# The arguments' types: the engine validates requests against them and documents them (OpenAPI).
WorkspaceName = Annotated[
    str, Field(pattern=WORKSPACE_NAME_PATTERN, description="the workspace holding the contracts")
]
Phrase = Annotated[str, Field(min_length=1, max_length=MAX_PHRASE_CHARS)]


class ChecklistItem(BaseModel):
    """An item of the request's own: found when a clause holds one of its phrases (literal text)."""

    model_config = ConfigDict(extra="forbid")
    item: Phrase
    phrases: Annotated[list[Phrase], Field(min_length=1, max_length=MAX_PHRASES_PER_ITEM)]


Checklist = Annotated[
    list[Phrase | ChecklistItem],
    Field(
        min_length=1,
        max_length=MAX_CHECKLIST_ITEMS,
        description=(
            "names of built-in items (the default items, the risk flags, the 41 CUAD clause types: "
            '"audit rights", "most favored nation", …) or items of your own; the default '
            "checklist when absent"
        ),
    ),
]


def _check_score(kwargs: dict[str, Any], context: JobContext) -> None:
    resources = ContractResources.of(context.broker)
    if not kwargs["criterion"].strip():
        raise InvalidPayload("criterion must have words, not only spaces", problems={"criterion": "empty"})
    if kwargs.get("compare_chatgpt"):
        if not kwargs.get("share_data_with_chatgpt"):
            raise DataSharingRefused(
                "compare_chatgpt needs share_data_with_chatgpt: true; contract text is only sent to the "
                "LLM endpoint with that consent",
                problems={"share_data_with_chatgpt": "must be true to compare with the LLM"},
            )
        if not resources.llm.configured:
            raise InvalidPayload(
                "compare_chatgpt needs an LLM endpoint; none is configured (LLM_BASE_URL)",
                problems={"compare_chatgpt": "no LLM endpoint configured"},
            )
    _require_documents(kwargs, context)


def _check_audit(kwargs: dict[str, Any], context: JobContext) -> None:
    parse_checklist(kwargs.get("checklist"))
    _require_documents(kwargs, context)


def _require_documents(kwargs: dict[str, Any], context: JobContext) -> None:
    """The workspace exists in the caller's tenant (the job's namespace) and holds documents."""
    workspace = kwargs[WORKSPACE_ARGUMENT]
    ContractResources.of(context.broker).documents.require_documents(context.namespace, workspace)


def _contracts(workspace: str) -> tuple[ContractResources, list[Contract]]:
    """The running job's resources and its workspace's contracts (of the job's tenant)."""
    report_progress(0, "Loading the workspace's contracts")  # progress from the first moment
    context = current_job()
    resources = ContractResources.of(context.broker)
    contracts = resources.documents.contracts(context.namespace, workspace)
    if not contracts:
        raise EmptyWorkspace(f"Workspace {workspace!r} holds no document")
    return resources, contracts


def _contracts_count(contracts: list[Contract]) -> str:
    return f"{len(contracts)} contract{'' if len(contracts) == 1 else 's'}"


#: Failures that another try cannot mend (the LLM client has already retried what it could).
_FINAL_ERRORS = (LLMError, WorkspaceError)


@job(group_by=WORKSPACE_ARGUMENT, check=_check_score, throws=_FINAL_ERRORS)
def score_contracts(
    *,
    criterion: Annotated[
        str, Field(min_length=1, max_length=MAX_CRITERION_CHARS, description="what a contract should say")
    ],
    workspace_name: WorkspaceName,
    max_score: Annotated[int, Field(ge=1, le=MAX_SCORE_LIMIT, description="the best score")] = 100,
    compare_chatgpt: Annotated[bool, Field(description="also score with the LLM endpoint")] = False,
    share_data_with_chatgpt: Annotated[
        bool, Field(description="consent to send contract text to the LLM endpoint")
    ] = False,
) -> dict[str, Any]:
    """Score every contract of a workspace against a criterion (0 to ``max_score``), ranked, each
    with its verdict, its reason and its evidence; one progress event per contract."""
    resources, contracts = _contracts(workspace_name)
    scorer = ContractScorer(criterion, max_score)
    # The privacy promise: the LLM is only built, and so only called, with explicit consent.
    use_llm = compare_chatgpt and share_data_with_chatgpt
    now = {"percent": 0.0, "label": ""}  # where the loop is, for the LLM's retry notes

    def note_retry(note: str) -> None:
        report_progress(now["percent"], f"{now['label']}: LLM {note}")

    llm = LLMScorer(config=resources.llm, on_retry=note_retry) if use_llm else None
    results = []
    for position, contract in enumerate(contracts):
        now["percent"] = 100 * position / len(contracts)
        now["label"] = f"Scoring {position + 1}/{len(contracts)}: {contract.filename}"
        report_progress(now["percent"], now["label"])
        result = scorer.score(contract).as_dict()
        if llm is not None:
            answer = llm.score(criterion=criterion, contract_text=contract.text, max_score=max_score)
            result["llm"] = {"score": answer.score, "reason": answer.reason, "model": resources.llm.model}
            result["difference"] = round(answer.score - result["score"], 1)
        results.append(result)
    report_progress(100, f"Scored {_contracts_count(contracts)}")
    return {
        "workspace_name": workspace_name,
        "criterion": criterion,
        "max_score": max_score,
        "scorer": "clauses",
        "compared_with_llm": use_llm,
        "contracts": results,
        "ranking": [r["doc_id"] for r in sorted(results, key=lambda r: -r["score"])],
    }


@job(group_by=WORKSPACE_ARGUMENT, check=_check_audit, throws=_FINAL_ERRORS)
def audit_contracts(*, workspace_name: WorkspaceName, checklist: Checklist | None = None) -> dict[str, Any]:
    """Check every contract of a workspace for the checklist's clauses, and flag risks."""
    checks = parse_checklist(checklist)
    _, contracts = _contracts(workspace_name)
    results = []
    for position, contract in enumerate(contracts):
        report_progress(
            100 * position / len(contracts), f"Auditing {position + 1}/{len(contracts)}: {contract.filename}"
        )
        results.append(
            {
                "doc_id": contract.doc_id,
                "filename": contract.filename,
                **audit_contract(contract.text, checks),
            }
        )
    report_progress(100, f"Audited {_contracts_count(contracts)}")
    return {
        "workspace_name": workspace_name,
        "checklist": [check.item for check in checks],
        "contracts": results,
    }
