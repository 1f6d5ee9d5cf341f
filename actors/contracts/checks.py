"""The auditor's checks: what a reviewer looks for in a contract, in the words contracts use for it.

A check is a set of patterns, each one common phrasing of the thing ("liability … shall be
unlimited", "no cap shall apply", "without limit"), matched case-insensitively on one sentence of
a clause at a time. A sentence that matches but also matches one of the check's *guards* does not
count: the guard is the phrasing that says the opposite ("limited to", "subject to the cap").
Checks marked ``affirmed`` also do not count a sentence that denies ("Neither party may assign
… without consent" is no permission to assign without consent). The first clause with a sentence
that counts is the evidence.

Only the built-in checks below are patterns, written here; a request's own items are literal
phrases (``Check.literal``), so no input can make a match take more than linear time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import polarity
from .clauses import Clause

_FLAGS = re.IGNORECASE
#: How many characters before a match a local guard looks at (the subject of its verb).
GUARD_REACH = 30


@dataclass(frozen=True, slots=True)
class Finding:
    clause: Clause
    phrase: str  # the words that matched


@dataclass(frozen=True, slots=True)
class Check:
    item: str
    patterns: tuple[re.Pattern[str], ...]
    guards: tuple[re.Pattern[str], ...] = ()
    affirmed: bool = False  # a sentence that denies does not count
    missing: str = ""  # why it is reported missing, in words
    local_guards: bool = False  # guards look only at the match and the few words before it

    @classmethod
    def of(
        cls,
        item: str,
        patterns: Sequence[str],
        *,
        guards: Sequence[str] = (),
        affirmed: bool = False,
        local_guards: bool = False,
        missing: str,
    ) -> Check:
        """A built-in check from regular expressions written in this module (never a request's)."""
        return cls(
            item,
            tuple(re.compile(pattern, _FLAGS) for pattern in patterns),
            tuple(re.compile(guard, _FLAGS) for guard in guards),
            affirmed,
            missing,
            local_guards,
        )

    @classmethod
    def literal(cls, item: str, phrases: Sequence[str]) -> Check:
        """A request's check: each phrase is found as whole words, whatever the spaces between."""
        quoted = ", ".join(f'"{phrase}"' for phrase in phrases[:3]) + (", …" if len(phrases) > 3 else "")
        return cls(
            item, tuple(_literal_pattern(phrase) for phrase in phrases), missing=f"No clause says {quoted}"
        )

    def find(self, clauses: Sequence[Clause]) -> Finding | None:
        for clause in clauses:
            for start, end in polarity.sentences(clause.plain):  # not its heading: what it says
                sentence = clause.plain[start:end]
                match = next((m for m in (p.search(sentence) for p in self.patterns) if m), None)
                if match is None:
                    continue
                guarded = (
                    sentence[max(0, match.start() - GUARD_REACH) : match.end()]
                    if self.local_guards
                    else sentence
                )
                if any(guard.search(guarded) for guard in self.guards):
                    continue
                if self.affirmed and polarity.negation(sentence):
                    continue
                return Finding(clause, " ".join(match.group().split()))
        return None


def _literal_pattern(phrase: str) -> re.Pattern[str]:
    """``phrase`` as escaped words joined by runs of spaces, not inside a longer word."""
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", _FLAGS)


#: Within one sentence: no full stop or semicolon, except inside a number ("clause 19.2").
_IN = r"(?:[^.;]|\.(?=\d))"
_LIABILITY = r"liabilit(?:y|ies)|liable"
_CAP = r"(?:cap|limit|limitation|ceiling|maximum)"
_INDEMNITY = r"(?:indemnif\w*|indemnit\w*|hold\s+harmless)"
_UNCAPPED = (
    rf"\bunlimited\b|\buncapped\b|\bwithout\s+(?:any\s+)?{_CAP}s?\b|\bno\s+(?:\w+\s+){{0,2}}?{_CAP}s?\b"
    rf"|\bnot\s+(?:be\s+)?(?:subject\s+to\s+(?:any|the)\s+(?:\w+\s+){{0,3}}?{_CAP}s?|limited|capped)\b"
    rf"|\b{_CAP}s?\b{_IN}{{0,80}}\b(?:shall|will|do|does)\s+not\s+apply\b"
    r"|\b(?:excluded|exempt|carved\s+out)\s+from\s+(?:the\s+|any\s+)?(?:\w+\s+){0,3}?(?:cap|limit)"
    r"|\boutside\s+(?:the\s+|any\s+)?(?:cap|limit)|\bin\s+full\b"
)
_UNCAPPED_INDEMNITY = [
    rf"{_INDEMNITY}{_IN}{{0,160}}?(?:{_UNCAPPED})",
    rf"(?:{_UNCAPPED}){_IN}{{0,160}}?{_INDEMNITY}",
]
_PARTY = (
    r"(?:supplier|customer|provider|vendor|licensor|licensee|contractor|company|client|seller|buyer|"
    r"landlord|tenant|consultant|agency|[A-Z][a-z]+)"
)

DEFAULT_CHECKLIST = (
    Check.of(
        "governing law and venue",
        [
            r"govern(?:ed|ing)\s+(?:by|law)",
            r"construed\s+in\s+accordance\s+with\s+the\s+laws?",
            r"\blaws?\s+of\s+(?:the\s+)?(?:state\s+of\s+)?(?:england|scotland|ireland|new\s+york|delaware|california|texas|germany|france|switzerland|singapore|hong\s+kong|wales|[a-z]+\s+law\b)",
            r"\b(?:exclusive|non-exclusive)\s+jurisdiction",
            r"\bcourts?\s+(?:of|in|located\s+in)\s+(?:the\s+)?[A-Z]",
            r"submits?\s+to\s+the\s+(?:\w+\s+)?jurisdiction",
            r"\b(?:seat|place|venue)\s+of\s+(?:the\s+)?arbitration\b|\bvenue\b|\bseated\s+in\b",
            r"\barbitration\s+(?:held\s+)?in\s+(?!accordance|respect|relation|writing|good|any|the\s+event)\w+",
        ],
        guards=[
            rf"\b(?:governing|applicable)\s+law\b{_IN}{{0,100}}\b(?:to|shall|will)\s+be\s+agreed",
            r"\bnot\s+(?:chosen|agreed)\s+(?:a|any|the)\s+(?:governing|applicable)\s+law",
            rf"^(?!{_IN}*\b(?:governed|governing\s+law|laws\s+of|seat|seated)\b){_IN}*\bany\s+court\s+of\s+competent\s+jurisdiction",
        ],
        missing="No clause states the governing law or where disputes are heard",
    ),
    Check.of("termination", [r"\bterminat(?:e|es|ed|ion)\b"], missing="No clause says how the contract ends"),
    Check.of(
        "limitation of liability",
        [
            r"limitation\s+of\s+liability",
            r"in\s+no\s+event\s+shall",
            rf"(?:{_LIABILITY}){_IN}{{0,80}}(?:shall|will)\s+(?:not\s+exceed|be\s+limited)",
            r"aggregate\s+liability",
        ],
        missing="No clause limits liability",
    ),
    Check.of("indemnification", [rf"\b{_INDEMNITY}"], missing="No clause gives an indemnity"),
    Check.of("confidentiality", [r"\bconfidential"], missing="No clause keeps information confidential"),
    Check.of(
        "payment terms",
        [r"\bpay(?:ment|able)?\b.*\b(?:days|invoice|fee|price)", r"\binvoice", r"\bfees?\b"],
        missing="No clause says what is paid or when",
    ),
    Check.of(
        "dispute resolution",
        [r"\barbitrat", r"\bdisputes?\b", r"exclusive\s+jurisdiction", r"\bmediation\b"],
        missing="No clause says how disputes are resolved",
    ),
    Check.of(
        "force majeure",
        [r"force\s+majeure", r"acts?\s+of\s+god", r"beyond\s+(?:its|their|the)\s+reasonable\s+control"],
        missing="No force majeure clause",
    ),
    Check.of("assignment", [r"\bassign(?:s|ed|ment)?\b"], missing="No clause deals with assignment"),
    Check.of(
        "data protection",
        [
            r"personal\s+(?:data|information)",
            r"data\s+protection",
            r"\bGDPR\b|\bCCPA\b|\bHIPAA\b",
            r"\bprivacy\b",
            r"\bdata\s+(?:subjects?|controller|processor|breach|processing)",
            r"\bprocess(?:es|ed|ing)?\s+(?:\w+\s+){0,3}data\b",
        ],
        guards=[
            r"\bno\s+personal\s+data\s+(?:will|shall)\s+be",
            r"(?:will|shall)\s+not\s+(?:provide|process|receive|collect|have\s+access\s+to)\s+(?:\w+\s+){0,4}?any\s+personal",
        ],
        missing="No clause protects personal data",
    ),
)

RISK_FLAGS = (
    Check.of(
        "unlimited liability",
        [
            rf"\bunlimited\s+(?:{_LIABILITY})",
            rf"(?:{_LIABILITY})\b{_IN}{{0,160}}?(?:{_UNCAPPED})",
            *_UNCAPPED_INDEMNITY,  # an indemnity without a cap leaves that liability unlimited
            rf"(?:{_UNCAPPED}){_IN}{{0,60}}?\b(?:{_LIABILITY})",
        ],
        guards=[
            r"\bdeath\s+or\s+personal\s+injury\b|\bfraud(?:ulent)?\b",
            r"(?<!not\s)\b(?:limited|capped)\s+(?:to|at)\b|(?<!not\s)\bshall\s+not\s+exceed\b",
        ],
        missing="No clause leaves liability unlimited",
    ),
    Check.of(
        "uncapped indemnity",
        _UNCAPPED_INDEMNITY,
        guards=[
            r"(?<!not\s)(?<!not\sbe\s)\bsubject\s+to\s+(?:the\s+)?(?:\w+\s+){0,3}?(?:cap|limit|limitation)s?\b",
            r"(?<!not\s)\b(?:capped|limited)\s+(?:to|at)\b|\bshall\s+not\s+exceed\b|\bup\s+to\s+a\s+maximum\b",
        ],
        missing="No indemnity is outside the liability cap",
    ),
    Check.of(
        "automatic renewal",
        [
            r"automatic(?:ally)?\s+(?:be\s+)?(?:renew|extend|roll)",
            r"auto-?renew",
            r"(?:renew|extend|continue)(?:s|ed)?\s+(?:\w+\s+){0,2}automatically",
            r"\bevergreen\b",
            r"\btacit(?:ly)?\s+(?:renew|extend)",
            rf"(?:renew|extend)(?:ed|s)?\s+for\s+(?:successive|further|additional|consecutive)\b{_IN}{{0,120}}\bunless\b",
            r"continue\s+(?:in\s+force\s+)?(?:thereafter\s+)?(?:for\s+(?:successive|further)|from\s+year\s+to\s+year|on\s+a\s+(?:rolling|month-to-month|year-to-year))",
            r"\bnotice\s+of\s+non-?renewal\b",
        ],
        affirmed=True,
        missing="No clause renews the contract automatically",
    ),
    Check.of(
        "unilateral changes",
        [
            r"may\s+(?:amend|modify|change|vary|update)\s+th(?:is|ese)\s+(?:agreement|terms)\s+(?:at\s+any\s+time|from\s+time\s+to\s+time)"
        ],
        affirmed=True,
        missing="No clause lets one party change the terms alone",
    ),
    Check.of(
        "unilateral termination",
        [
            rf"\b{_PARTY}\s+(?:may|shall\s+be\s+entitled\s+to|has\s+the\s+right\s+to|reserves\s+the\s+right\s+to)\s+"
            rf"(?:\w+\s+){{0,2}}?terminate\b{_IN}{{0,120}}?\b(?:for\s+(?:its\s+)?convenience|at\s+any\s+time|without\s+cause"
            r"|for\s+any\s+(?:or\s+no\s+)?reason|without\s+(?:giving\s+)?(?:a\s+)?reason|at\s+will|(?:in|at)\s+its\s+(?:sole\s+)?discretion)",
            rf"(?:for\s+(?:its\s+)?convenience|at\s+any\s+time|without\s+cause){_IN}{{0,60}}\b{_PARTY}\s+may\s+terminate",
            rf"\bterminable\s+(?:at\s+will|for\s+convenience)\s+by\s+(?:the\s+)?{_PARTY}",
        ],
        guards=[
            r"\b(?:either|each|both|neither)\s+(?:of\s+the\s+)?part(?:y|ies)\b|\bthe\s+parties\b",
            r"\b(?:and|or)\s+the\s+\w+\s+may\s+terminate",
        ],
        affirmed=True,
        missing="No clause lets one party alone end the contract at will",
    ),
    Check.of(
        "assignment without consent",
        [
            r"\b(?:may|can|shall\s+be\s+(?:free|entitled)\s+to|is\s+entitled\s+to|is\s+free\s+to)\s+(?:[\w,]+\s+){0,3}?"
            rf"(?:assign|transfer|novate)\b{_IN}{{0,160}}?\bwithout\s+(?:the\s+)?(?:need\s+for\s+|requiring\s+)?(?:[\w'\u2019]+\s+){{0,3}}?(?:consent|approval|agreement|permission)",
            r"\bfreely\s+(?:assign|transfer)|\b(?:assign|transfer)(?:able)?\s+(?:\w+\s+){0,3}freely\b",
            rf"\bwithout\s+(?:the\s+)?(?:need\s+for\s+|requiring\s+)?(?:[\w'\u2019]+\s+){{0,3}}?(?:consent|approval){_IN}{{0,80}}\b(?:assign|transfer|novate)",
            rf"\bno\s+(?:such\s+)?(?:consent|approval)\s+(?:shall\s+be|is|will\s+be)\s+(?:required|needed)\b{_IN}{{0,80}}\b(?:assign|transfer)",
            rf"\b(?:assign|transfer)\w*\b{_IN}{{0,80}}\bno\s+(?:such\s+)?(?:consent|approval)\s+(?:shall\s+be|is|will\s+be)\s+(?:required|needed)",
        ],
        guards=[r"\b(?:neither|nor)\b|\b(?:shall|may|must)\s+not\b"],
        # "Neither party may assign …, except that the Supplier may transfer … without consent"
        local_guards=True,
        missing="No clause lets a party assign the contract without the other's consent",
    ),
)
