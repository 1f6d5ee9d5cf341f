"""The offline auditor: which of the clauses a reviewer looks for each contract has, and its risks.

Each checklist item is a set of patterns matched case-insensitively on a clause; the first clause
that matches is the evidence, quoted back. Risk flags work the same way but are bad news when
found. A request may bring its own checklist: names of default items, or ``{"item": name,
"phrases": [...]}`` for items of its own (a name alone that is not a default item is searched for
as a phrase).

A request's phrases are literal text, never regular expressions: each is matched as whole words
(any run of spaces between them), case-insensitively, so ``(a+)+$`` is looked for as those six
characters and no input can make a match take more than linear time. Only the built-in items
below are patterns, written here. Counts and lengths are capped (``MAX_CHECKLIST_ITEMS``,
``MAX_PHRASES_PER_ITEM``, ``MAX_PHRASE_CHARS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from actors.jobs.errors import InvalidPayload

from .checks import DEFAULT_CHECKLIST, RISK_FLAGS, Check
from .clauses import Clause, quote, split_clauses
from .scoring import EVIDENCE_CHARS

#: Most checklist items a request may bring.
MAX_CHECKLIST_ITEMS = 50
#: Most phrases one item of a request's checklist may have.
MAX_PHRASES_PER_ITEM = 20
#: Longest phrase, and longest item name, a request may bring (characters).
MAX_PHRASE_CHARS = 200


#: Other names a request may give the built-in checks.
ALIASES = {"governing law": "governing law and venue", "auto-renewal": "automatic renewal"}
_BUILT_IN = {check.item: check for check in (*DEFAULT_CHECKLIST, *RISK_FLAGS)}


def parse_checklist(raw: Sequence[Any] | None) -> tuple[Check, ...]:
    """The checks a request asks for (the default checklist when ``raw`` is None)."""
    if raw is None:
        return DEFAULT_CHECKLIST
    if not raw or len(raw) > MAX_CHECKLIST_ITEMS:
        raise InvalidPayload(
            f"checklist must have 1 to {MAX_CHECKLIST_ITEMS} items",
            problems={"checklist": "wrong number of items"},
        )
    return tuple(_check(position, entry) for position, entry in enumerate(raw))


def _check(position: int, entry: Any) -> Check:
    if isinstance(entry, str) and _is_phrase(entry):
        name = entry.strip()
        built_in = _BUILT_IN.get(ALIASES.get(name.lower(), name.lower()))
        return replace(built_in, item=name) if built_in else Check.literal(name, [name])  # named as asked
    if isinstance(entry, Mapping) and set(entry) == {"item", "phrases"}:
        name, phrases = entry["item"], entry["phrases"]
        if (
            isinstance(name, str)
            and _is_phrase(name)
            and isinstance(phrases, list)
            and 0 < len(phrases) <= MAX_PHRASES_PER_ITEM
            and all(isinstance(phrase, str) and _is_phrase(phrase) for phrase in phrases)
        ):
            return Check.literal(name.strip(), phrases)
    raise InvalidPayload(
        f'checklist[{position}] must be an item name or {{"item": name, "phrases": [...]}}, with 1 to '
        f"{MAX_PHRASES_PER_ITEM} phrases; a name or phrase has 1 to {MAX_PHRASE_CHARS} characters, "
        "with at least one letter or digit",
        problems={"checklist": f"item {position} is malformed"},
    )


def audit_contract(text: str, checks: Sequence[Check]) -> dict[str, Any]:
    clauses = split_clauses(text)
    items = [_finding(check, clauses) for check in checks]
    risks = [finding for finding in (_finding(flag, clauses) for flag in RISK_FLAGS) if finding["found"]]
    missing = [item["item"] for item in items if not item["found"]]
    summary = f"{len(items) - len(missing)} of {len(items)} items found"
    summary += f"; missing: {', '.join(missing)}" if missing else ""
    summary += f"; risk flags: {', '.join(r['item'] for r in risks)}" if risks else "; no risk flags"
    return {
        "items": items,
        "risk_flags": risks,
        "found": len(items) - len(missing),
        "missing": missing,
        "summary": summary,
    }


def _finding(check: Check, clauses: Sequence[Clause]) -> dict[str, Any]:
    found = check.find(clauses)
    if found is None:
        return {"item": check.item, "found": False, "evidence": None, "clause": None, "reason": check.missing}
    return {
        "item": check.item,
        "found": True,
        "evidence": quote(found.clause.text, EVIDENCE_CHARS),
        "clause": found.clause.index,
        "start": found.clause.start,
        "end": found.clause.end,
        "reason": f'It says "{quote(found.phrase, 160)}"',
    }


def _is_phrase(value: str) -> bool:
    return 0 < len(value.strip()) <= MAX_PHRASE_CHARS and any(char.isalnum() for char in value)
