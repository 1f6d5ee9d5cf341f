"""The seed's two long-running jobs, ``score_contracts`` and ``audit_contracts``.

Their parameters are the seed's request bodies. The contract work itself (workspaces, a scorer,
an auditor) is tracked in its own issue; until it lands these actors walk the job through the
same path real work will take — progress events, a JSON result — and say plainly in the result
that no documents were analysed.
"""

from __future__ import annotations

from typing import Any

from .progress import report_progress
from .registry import job


@job()
def score_contracts(
    *,
    criterion: str,
    workspace_name: str,
    max_score: int = 100,
    compare_chatgpt: bool = False,
    share_data_with_chatgpt: bool = False,
) -> dict[str, Any]:
    report_progress(0, f"Scoring contracts in workspace {workspace_name!r}")
    contracts: list[dict[str, Any]] = []
    report_progress(100, f"Scored {len(contracts)} contracts")
    return {
        "workspace_name": workspace_name,
        "criterion": criterion,
        "max_score": max_score,
        "compare_chatgpt": compare_chatgpt,
        "contracts": contracts,
        "note": "contract scoring is not implemented yet; no documents were analysed",
    }


@job()
def audit_contracts(*, workspace_name: str, checklist: list | None = None) -> dict[str, Any]:
    report_progress(0, f"Auditing contracts in workspace {workspace_name!r}")
    contracts: list[dict[str, Any]] = []
    report_progress(100, f"Audited {len(contracts)} contracts")
    return {
        "workspace_name": workspace_name,
        "checklist": checklist,
        "contracts": contracts,
        "note": "contract auditing is not implemented yet; no documents were analysed",
    }
