"""The offline auditor: which of the clauses a reviewer looks for each contract has, and its risks.

Two kinds of built-in item. The default checklist's items and the risk flags are patterns of
their common phrasings (``checks.py``); risk flags are bad news when found. Every CUAD category
is an item too, by its name ("audit rights", "most favored nation", ``categories.py``), found by
the learned clause classifier: present when the clause that reads most as the category reaches
the category's threshold, and that clause is the evidence, with the probability the contract has
it (``confidence``). A request may bring its own checklist: names of built-in items, or
``{"item": name, "phrases": [...]}`` for items of its own (a name alone that is not a built-in
item is searched for as a phrase).

A request's phrases are literal text, never regular expressions: each is matched as whole words
(any run of spaces between them), case-insensitively, so ``(a+)+$`` is looked for as those six
characters and no input can make a match take more than linear time. Only the built-in items
below are patterns, written here. Counts and lengths are capped (``MAX_CHECKLIST_ITEMS``,
``MAX_PHRASES_PER_ITEM``, ``MAX_PHRASE_CHARS``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from actors.jobs.errors import InvalidPayload

from .categories import Category, category
from .checks import DEFAULT_CHECKLIST, RISK_FLAGS, Check
from .classifier import ClauseModel, shipped
from .clauses import Clause, quote, split_clauses
from .reading import Reading
from .scoring import EVIDENCE_CHARS
from .structure import Kind, kinds

#: Most checklist items a request may bring.
MAX_CHECKLIST_ITEMS = 64  # every built-in item fits in one checklist
#: Most phrases one item of a request's checklist may have.
MAX_PHRASES_PER_ITEM = 20
#: Longest phrase, and longest item name, a request may bring (characters).
MAX_PHRASE_CHARS = 200


#: Other names a request may give the built-in checks ("governing law" is the CUAD item).
ALIASES = {"auto-renewal": "automatic renewal"}
_BUILT_IN = {check.item: check for check in (*DEFAULT_CHECKLIST, *RISK_FLAGS)}


@dataclass(frozen=True, slots=True)
class LearnedItem:
    """A checklist item found by the clause classifier: a CUAD category, named as asked."""

    item: str
    category: Category


Item = Check | LearnedItem


def parse_checklist(raw: Sequence[Any] | None) -> tuple[Item, ...]:
    """The checks a request asks for (the default checklist when ``raw`` is None)."""
    if raw is None:
        return DEFAULT_CHECKLIST
    if not raw or len(raw) > MAX_CHECKLIST_ITEMS:
        raise InvalidPayload(
            f"checklist must have 1 to {MAX_CHECKLIST_ITEMS} items",
            problems={"checklist": "wrong number of items"},
        )
    return tuple(_check(position, entry) for position, entry in enumerate(raw))


def _check(position: int, entry: Any) -> Item:
    if isinstance(entry, str) and _is_phrase(entry):
        name = entry.strip()
        built_in = _BUILT_IN.get(ALIASES.get(name.lower(), name.lower()))
        if built_in:
            return replace(built_in, item=name)  # named as asked
        learned = category(name)
        return LearnedItem(name, learned) if learned else Check.literal(name, [name])
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


def audit_contract(text: str, checks: Sequence[Item], *, model: ClauseModel | None = None) -> dict[str, Any]:
    """The audit of one contract: each item found or not, with its evidence, and the risk flags."""
    clauses = split_clauses(text)
    passages = kinds(clauses)  # worked out once for every check
    reading: Reading | None = None
    items = []
    for check in checks:
        if isinstance(check, LearnedItem):
            reading = reading or Reading(clauses, model or shipped(), kinds=passages)  # once a contract
            items.append(_learned_finding(check, reading))
        else:
            items.append(_finding(check, clauses, passages))
    flags = (_finding(flag, clauses, passages) for flag in RISK_FLAGS)
    risks = [finding for finding in flags if finding["found"]]
    missing = [item["item"] for item in items if not item["found"]]
    summary = f"{len(items) - len(missing)} of {len(items)} {'item' if len(items) == 1 else 'items'} found"
    summary += f"; missing: {', '.join(missing)}" if missing else ""
    summary += f"; risk flags: {', '.join(r['item'] for r in risks)}" if risks else "; no risk flags"
    return {
        "items": items,
        "risk_flags": risks,
        "found": len(items) - len(missing),
        "missing": missing,
        "summary": summary,
    }


def _finding(check: Check, clauses: Sequence[Clause], passages: Sequence[Kind]) -> dict[str, Any]:
    found = check.find(clauses, kinds=passages)
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


def _learned_finding(item: LearnedItem, reading: Reading) -> dict[str, Any]:
    index = reading.model.index(item.category.name)
    located = reading.locate(index)
    if located is None or not located.present:
        confidence = round(located.probability, 2) if located else 0.0
        return {
            "item": item.item,
            "found": False,
            "evidence": None,
            "clause": None,
            "reason": f"No clause found with {item.category.meaning}",
            "confidence": confidence,
        }
    return {
        "item": item.item,
        "found": True,
        "evidence": quote(located.clause.text, EVIDENCE_CHARS),
        "clause": located.clause.index,
        "start": located.clause.start,
        "end": located.clause.end,
        "reason": f'Reads as {item.category.meaning}: "{located.sentence(reading.model, index)}"',
        "confidence": round(located.probability, 2),
    }


def _is_phrase(value: str) -> bool:
    return 0 < len(value.strip()) <= MAX_PHRASE_CHARS and any(char.isalnum() for char in value)
