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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors.jobs.errors import InvalidPayload

from .clauses import Clause, quote, split_clauses
from .scoring import EVIDENCE_CHARS

#: Most checklist items a request may bring.
MAX_CHECKLIST_ITEMS = 50
#: Most phrases one item of a request's checklist may have.
MAX_PHRASES_PER_ITEM = 20
#: Longest phrase, and longest item name, a request may bring (characters).
MAX_PHRASE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Check:
    item: str
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def of(cls, item: str, patterns: Sequence[str]) -> Check:
        """A built-in check from regular expressions written in this module (never a request's)."""
        return cls(item, tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns))

    @classmethod
    def literal(cls, item: str, phrases: Sequence[str]) -> Check:
        """A request's check: each phrase is found as whole words, whatever the spaces between."""
        return cls(item, tuple(_literal_pattern(phrase) for phrase in phrases))

    def find(self, clauses: Sequence[Clause]) -> Clause | None:
        return next((c for c in clauses if any(p.search(c.text) for p in self.patterns)), None)


DEFAULT_CHECKLIST = (
    Check.of("governing law", [r"govern(?:ed|ing)\s+(?:by|law)", r"laws\s+of\s+(?:the\s+)?[A-Z]?\w+"]),
    Check.of("termination", [r"\bterminat(?:e|es|ed|ion)\b"]),
    Check.of(
        "limitation of liability",
        [
            r"limitation\s+of\s+liability",
            r"in\s+no\s+event\s+shall",
            r"liability\s+(?:shall|will)\s+(?:not\s+exceed|be\s+limited)",
            r"aggregate\s+liability",
        ],
    ),
    Check.of("indemnification", [r"\bindemnif", r"hold\s+harmless"]),
    Check.of("confidentiality", [r"\bconfidential"]),
    Check.of(
        "payment terms", [r"\bpay(?:ment|able)?\b.*\b(?:days|invoice|fee|price)", r"\binvoice", r"\bfees?\b"]
    ),
    Check.of(
        "dispute resolution", [r"\barbitrat", r"\bdisputes?\b", r"exclusive\s+jurisdiction", r"\bmediation\b"]
    ),
    Check.of(
        "force majeure",
        [r"force\s+majeure", r"acts?\s+of\s+god", r"beyond\s+(?:its|their|the)\s+reasonable\s+control"],
    ),
    Check.of("assignment", [r"\bassign(?:s|ed|ment)?\b"]),
    Check.of("data protection", [r"personal\s+data", r"data\s+protection", r"\bGDPR\b", r"privacy"]),
)

RISK_FLAGS = (
    Check.of(
        "unlimited liability",
        [
            r"unlimited\s+liability",
            r"liability\s+(?:shall\s+be\s+)?unlimited",
            r"without\s+(?:any\s+)?limit(?:ation)?\s+(?:of|on)\s+liability",
        ],
    ),
    Check.of(
        "automatic renewal",
        [r"automatic(?:ally)?\s+renew", r"auto-?renew", r"renew(?:s|ed)?\s+automatically"],
    ),
    Check.of(
        "unilateral changes",
        [r"may\s+(?:amend|modify|change)\s+th(?:is|ese)\s+(?:agreement|terms)\s+at\s+any\s+time"],
    ),
    Check.of(
        "termination for convenience by one party only",
        [r"(?:supplier|provider|vendor|licensor)\s+may\s+terminate\s+.*\bfor\s+convenience"],
    ),
)
_DEFAULTS_BY_NAME = {check.item: check for check in DEFAULT_CHECKLIST}


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
        return _DEFAULTS_BY_NAME.get(name.lower()) or Check.literal(name, [name])
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
    clause = check.find(clauses)
    evidence = quote(clause.text, EVIDENCE_CHARS) if clause is not None else None
    return {
        "item": check.item,
        "found": clause is not None,
        "evidence": evidence,
        "clause": clause.index if clause else None,
    }


def _is_phrase(value: str) -> bool:
    return 0 < len(value.strip()) <= MAX_PHRASE_CHARS and any(char.isalnum() for char in value)


def _literal_pattern(phrase: str) -> re.Pattern[str]:
    """``phrase`` as escaped words joined by runs of spaces, not inside a longer word."""
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)
