"""The auditor's checks: what a reviewer looks for in a contract, in the words contracts use for it.

A check is a set of patterns, each one common phrasing of the thing ("liability … shall be
unlimited", "no cap shall apply", "without limit"), matched case-insensitively on one sentence of
a clause at a time. A sentence that matches but also matches one of the check's *guards* does not
count: the guard is the phrasing that says the opposite ("limited to", "subject to the cap").
Checks marked ``affirmed`` also do not count a sentence that denies ("Neither party may assign
… without consent" is no permission to assign without consent). Idioms that only look like the
thing ("including, without limitation") are blanked out first (``ignore``).

Only clauses of the body count: never a table of contents, a bare heading, a definition or the
preamble (``structure.py``), which name a subject without saying anything about it. Of the
clauses that count, the best is the evidence, not the first: one that matches a *strong*
pattern (the first ``strong`` of them: "governed by the laws of") beats one that matches only a
weak one ("courts in New York"), and a clause whose heading names the subject ("12.1 Governing
Law") is worth one step more; between equals, the earlier clause.

Only the built-in checks below are patterns, written here and in ``phrasing.py``; a request's
own items are literal phrases (``Check.literal``), so no input can make a match take more than
linear time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import polarity, structure
from .clauses import Clause
from .phrasing import (
    IN,
    INDEMNITY,
    LIABILITY,
    LOOKS_UNCAPPED,
    NAMED_LAW,
    PARTY,
    PERIOD,
    PLACES,
    UNCAPPED,
    UNCAPPED_INDEMNITY,
)
from .structure import Kind

_FLAGS = re.IGNORECASE
#: How many characters before a match a local guard looks at (the subject of its verb).
GUARD_REACH = 30
#: Passages that say nothing of their subject: a built-in check never quotes them.
NOT_CLAUSES = frozenset({Kind.TABLE_OF_CONTENTS, Kind.HEADING, Kind.DEFINITIONS, Kind.PREAMBLE})
#: A request's phrase may be defined, or name a party, but a contents line or a title is no evidence.
NOT_PASSAGES = frozenset({Kind.TABLE_OF_CONTENTS, Kind.HEADING})


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
    strong: int | None = None  # how many of the patterns, the first, are strong (None: all)
    subject: re.Pattern[str] | None = None  # words in a heading that name the check's subject
    ignore: re.Pattern[str] | None = None  # idioms blanked out of a sentence before matching
    skip: frozenset[Kind] = NOT_CLAUSES  # kinds of passage never quoted
    cue: tuple[str, ...] = ()  # lower-case words one of which every match holds: a quick first test

    @classmethod
    def of(
        cls,
        item: str,
        patterns: Sequence[str],
        *,
        weak: Sequence[str] = (),
        guards: Sequence[str] = (),
        affirmed: bool = False,
        local_guards: bool = False,
        subject: str | None = None,
        ignore: str | None = None,
        cue: Sequence[str] = (),
        missing: str,
    ) -> Check:
        """A built-in check from regular expressions written here (never a request's): ``patterns``
        are strong evidence of the thing, ``weak`` ones evidence only when nothing stronger is found."""
        return cls(
            item,
            tuple(re.compile(pattern, _FLAGS) for pattern in (*patterns, *weak)),
            tuple(re.compile(guard, _FLAGS) for guard in guards),
            affirmed,
            missing,
            local_guards,
            strong=len(patterns),
            subject=re.compile(subject, _FLAGS) if subject else None,
            ignore=re.compile(ignore, _FLAGS) if ignore else None,
            cue=tuple(cue),
        )

    @classmethod
    def literal(cls, item: str, phrases: Sequence[str]) -> Check:
        """A request's check: each phrase is found as whole words, whatever the spaces between."""
        quoted = ", ".join(f'"{phrase}"' for phrase in phrases[:3]) + (", …" if len(phrases) > 3 else "")
        return cls(
            item,
            tuple(_literal_pattern(phrase) for phrase in phrases),
            missing=f"No clause says {quoted}",
            skip=NOT_PASSAGES,
        )

    def find(self, clauses: Sequence[Clause], *, kinds: Sequence[Kind] | None = None) -> Finding | None:
        """The best clause that says the thing, or None; ``kinds`` are the clauses' kinds
        (``structure.kinds(clauses)``, worked out here when not given)."""
        kinds = structure.kinds(clauses) if kinds is None else kinds
        best: tuple[tuple[int, int, int], Finding] | None = None
        for position, (clause, kind) in enumerate(zip(clauses, kinds, strict=True)):
            if kind in self.skip:
                continue
            found = self._strongest(clause)
            if found is None:
                continue
            tier, phrase = found
            named = self._named(clauses, kinds, position)
            rank = (kind is not Kind.BODY, tier - named, tier)  # lower is better
            if best is None or rank < best[0]:
                best = (rank, Finding(clause, phrase))
                if rank == (False, -1, 0):
                    break  # a strong match in a clause headed by its subject: nothing beats it
        return best[1] if best else None

    def _strongest(self, clause: Clause) -> tuple[int, str] | None:
        """The clause's strongest sentence that counts: its tier (0 strong, 1 weak) and words."""
        text = structure.own_text(clause)  # not its heading or numbering: what it says
        if self.cue:
            lowered = text.lower()
            if not any(word in lowered for word in self.cue):
                return None
        elif not any(pattern.search(text) for pattern in self.patterns):
            return None  # a pattern that matches none of the text matches none of its sentences
        strongest: tuple[int, str] | None = None
        for start, end in polarity.sentences(text):
            sentence = text[start:end]
            found = self._match(sentence)
            if found is not None and self.ignore is not None:  # blank the idioms only when it matters
                sentence = self.ignore.sub(lambda idiom: " " * len(idiom.group()), sentence)
                found = self._match(sentence)
            if found is None:
                continue
            number, match = found
            guarded = (
                sentence[max(0, match.start() - GUARD_REACH) : match.end()] if self.local_guards else sentence
            )
            if any(guard.search(guarded) for guard in self.guards):
                continue
            if self.affirmed and polarity.negation(sentence):
                continue
            if structure.is_table_of_contents(sentence):
                continue  # a contents list joined to the clause after it
            tier = 0 if self.strong is None or number < self.strong else 1
            if strongest is None or tier < strongest[0]:
                strongest = (tier, " ".join(match.group().split()))
                if tier == 0:
                    break
        return strongest

    def _match(self, sentence: str) -> tuple[int, re.Match[str]] | None:
        """The first of the patterns that matches ``sentence`` (its number) and its match."""
        return next(((n, m) for n, m in enumerate(p.search(sentence) for p in self.patterns) if m), None)

    def _named(self, clauses: Sequence[Clause], kinds: Sequence[Kind], position: int) -> bool:
        """Whether the clause's heading, or a heading standing just before it, names the subject."""
        if self.subject is None:
            return False
        if self.subject.search(structure.heading_of(clauses[position])):
            return True
        return (
            position > 0
            and kinds[position - 1] is Kind.HEADING
            and self.subject.search(clauses[position - 1].text) is not None
        )


def _literal_pattern(phrase: str) -> re.Pattern[str]:
    """``phrase`` as escaped words joined by runs of spaces, not inside a longer word."""
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", _FLAGS)


DEFAULT_CHECKLIST = (
    Check.of(
        "governing law and venue",
        [
            # "governed by" the laws of a place, not "governed by the Quality Plan" (quoted: "governed by")
            rf"\bgovern(?:ed|s)(?:\s+by)?\b(?={IN}{{0,150}}?\b{NAMED_LAW})",
            rf"\b(?:construed|interpreted|enforced)\b{IN}{{0,80}}?\b(?:in\s+accordance\s+with|under|according\s+to"
            rf"|pursuant\s+to|by)\s+(?:the\s+)?(?:(?:internal|substantive|domestic)\s+)?{NAMED_LAW}",
            # "The governing law of this Agreement is …", not "the highest rate allowed by applicable law"
            r"\b(?:governing|applicable|proper)\s+law\s+(?:of|to|for|governing)\s+(?:this|the)\s+(?:agreement|contract)\b",
            rf"\blaws?\s+of\b{IN}{{0,80}}?\b(?:shall|will)\s+(?:govern|apply)\b",
        ],
        weak=[
            r"\bgoverning\s+law\b",
            # Not a party's "organized under the laws of the State of Delaware".
            rf"(?<!under\sthe\s)\blaws?\s+of\s+(?:the\s+)?(?:state\s+of\s+)?(?:{PLACES})",
            r"\b(?:exclusive|non-exclusive)\s+jurisdiction",
            # A court's name has a capital ("courts of England"); "a court of competent jurisdiction" none.
            r"\bcourts?\s+(?:of|in|located\s+in)\s+(?:the\s+)?(?-i:[A-Z])",
            r"submits?\s+to\s+the\s+(?:\w+\s+)?jurisdiction",
            r"\b(?:seat|place|venue)\s+of\s+(?:the\s+)?arbitration\b|\bvenue\b|\bseated\s+in\b",
            r"\barbitration\s+(?:held\s+)?in\s+(?!accordance|respect|relation|writing|good|any|the\s+event)\w+",
        ],
        guards=[
            rf"\b(?:governing|applicable)\s+law\b{IN}{{0,100}}\b(?:to|shall|will)\s+be\s+agreed",
            r"\bnot\s+(?:chosen|agreed)\s+(?:a|any|the)\s+(?:governing|applicable)\s+law",
            rf"^(?!{IN}*\b(?:governed|governing\s+law|laws\s+of|seat|seated)\b){IN}*\bany\s+court\s+of\s+competent\s+jurisdiction",
        ],
        subject=r"\bgovern|\b(?:choice|applicable|proper)\s+(?:of\s+)?laws?\b|\bjurisdiction|\bvenue\b|\bforum\b",
        cue=["govern", "law", "jurisdiction", "court", "venue", "seat", "arbitration"],
        missing="No clause states the governing law or where disputes are heard",
    ),
    Check.of(
        "termination",
        [r"\bterminat(?:e|es|ed|ion)\b"],
        subject=r"\bterminat",
        missing="No clause says how the contract ends",
    ),
    Check.of(
        "limitation of liability",
        [
            rf"(?:{LIABILITY}){IN}{{0,80}}(?:shall|will)\s+(?:not\s+exceed|be\s+limited)",
            r"\b(?:aggregate|total|maximum|cumulative)\s+liability",
            rf"\bin\s+no\s+event\s+(?:shall|will)\b{IN}{{0,120}}?\b(?:{LIABILITY})",
            # "Neither party shall be liable … for any indirect or consequential damages"
            rf"\b(?:liable|responsible|liability|recover)\b{IN}{{0,160}}?\b(?:indirect|incidental|consequential"
            r"|punitive|exemplary|lost\s+profits?)\b",
        ],
        weak=[r"limitation\s+of\s+liability", r"\bin\s+no\s+event\s+(?:shall|will)\b"],
        subject=r"\blimitations?\s+(?:of|on)\s+(?:liabilit|damages|remed)|\bliabilit|\bdamages\b",
        cue=["liab", "event", "responsible", "recover"],
        missing="No clause limits liability",
    ),
    Check.of(
        "indemnification", [rf"\b{INDEMNITY}"], subject=r"\bindemn", missing="No clause gives an indemnity"
    ),
    Check.of(
        "confidentiality",
        [r"\bconfidential"],
        subject=r"\bconfidential|\bnon-?disclosure",
        missing="No clause keeps information confidential",
    ),
    Check.of(
        "payment terms",
        [r"\bpay(?:ment|able)?\b.*\b(?:days|invoice|fee|price)", r"\binvoice", r"\bfees?\b"],
        subject=r"\bpayment|\bfees?\b|\binvoic|\bprice|\bcompensation\b",
        missing="No clause says what is paid or when",
    ),
    Check.of(
        "dispute resolution",
        [r"\barbitrat", r"\bdisputes?\b", r"exclusive\s+jurisdiction", r"\bmediation\b"],
        subject=r"\bdispute|\barbitration\b|\bmediation\b",
        missing="No clause says how disputes are resolved",
    ),
    Check.of(
        "force majeure",
        [r"force\s+majeure", r"acts?\s+of\s+god", r"beyond\s+(?:its|their|the)\s+reasonable\s+control"],
        subject=r"force\s+majeure|\bexcused\s+performance",
        missing="No force majeure clause",
    ),
    Check.of(
        "assignment",
        [r"\bassign(?:s|ed|ment)?\b"],
        subject=r"\bassign",
        missing="No clause deals with assignment",
    ),
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
        subject=r"\bdata\b|\bprivacy\b",
        cue=["data", "privacy", "personal", "gdpr", "ccpa", "hipaa"],
        missing="No clause protects personal data",
    ),
)

RISK_FLAGS = (
    Check.of(
        "unlimited liability",
        [
            rf"\bunlimited\s+(?:{LIABILITY})",
            rf"(?:{LIABILITY})\b{IN}{{0,160}}?(?:{UNCAPPED})",
            *UNCAPPED_INDEMNITY,  # an indemnity without a cap leaves that liability unlimited
            rf"(?:{UNCAPPED}){IN}{{0,60}}?\b(?:{LIABILITY})",
        ],
        guards=[
            r"\bdeath\s+or\s+personal\s+injury\b|\bfraud(?:ulent)?\b",
            r"(?<!not\s)\b(?:limited|capped)\s+(?:to|at)\b|(?<!not\s)\bshall\s+not\s+exceed\b",
        ],
        ignore=LOOKS_UNCAPPED,
        subject=r"\bliabilit|\bdamages\b|\bindemn",
        cue=["liab", "indemn", "harmless"],
        missing="No clause leaves liability unlimited",
    ),
    Check.of(
        "uncapped indemnity",
        UNCAPPED_INDEMNITY,
        guards=[
            r"(?<!not\s)(?<!not\sbe\s)\bsubject\s+to\s+(?:the\s+)?(?:\w+\s+){0,3}?(?:cap|limit|limitation)s?\b",
            r"(?<!not\s)\b(?:capped|limited)\s+(?:to|at)\b|\bshall\s+not\s+exceed\b|\bup\s+to\s+a\s+maximum\b",
        ],
        ignore=LOOKS_UNCAPPED,
        subject=r"\bindemn|\bliabilit",
        cue=["indemn", "harmless"],
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
            rf"(?:renew|extend)(?:ed|s)?\s+for\s+(?:successive|further|additional|consecutive)\b{IN}{{0,120}}\bunless\b",
            r"continue\s+(?:in\s+force\s+)?(?:thereafter\s+)?(?:for\s+(?:successive|further)|from\s+year\s+to\s+year|on\s+a\s+(?:rolling|month-to-month|year-to-year))",
            r"\bnotice\s+of\s+non-?renewal\b",
            # "the term is extended by twelve months unless terminated by either party"
            rf"\b(?:renew|extend)(?:ed|s)?\s+(?:automatically\s+)?(?:by|for)\s+{PERIOD}{IN}{{0,160}}?\bunless\b",
            rf"\bunless\b{IN}{{0,120}}?\bnotice\b{IN}{{0,160}}?\b(?:renewed|extended)\s+(?:automatically\s+)?(?:by|for)\b",
        ],
        affirmed=True,
        subject=r"\bterm\b|\brenew|\bduration\b",
        cue=["renew", "extend", "evergreen", "continue", "roll"],
        missing="No clause renews the contract automatically",
    ),
    Check.of(
        "unilateral changes",
        [
            r"may\s+(?:amend|modify|change|vary|update)\s+th(?:is|ese)\s+(?:agreement|terms)\s+(?:at\s+any\s+time|from\s+time\s+to\s+time)"
        ],
        affirmed=True,
        cue=["amend", "modify", "change", "vary", "update"],
        missing="No clause lets one party change the terms alone",
    ),
    Check.of(
        "unilateral termination",
        [
            rf"\b{PARTY}\s+(?:may|shall\s+be\s+entitled\s+to|has\s+the\s+right\s+to|reserves\s+the\s+right\s+to)\s+"
            rf"(?:\w+\s+){{0,2}}?terminate\b{IN}{{0,120}}?\b(?:for\s+(?:its\s+)?convenience|at\s+any\s+time|without\s+cause"
            r"|for\s+any\s+(?:or\s+no\s+)?reason|without\s+(?:giving\s+)?(?:a\s+)?reason|at\s+will|(?:in|at)\s+its\s+(?:sole\s+)?discretion)",
            rf"(?:for\s+(?:its\s+)?convenience|at\s+any\s+time|without\s+cause){IN}{{0,60}}\b{PARTY}\s+may\s+terminate",
            rf"\bterminable\s+(?:at\s+will|for\s+convenience)\s+by\s+(?:the\s+)?{PARTY}",
        ],
        guards=[
            r"\b(?:either|each|both|neither)\s+(?:of\s+the\s+)?part(?:y|ies)\b|\bthe\s+parties\b",
            r"\b(?:and|or)\s+the\s+\w+\s+may\s+terminate",
        ],
        affirmed=True,
        subject=r"\bterminat",
        cue=["terminat"],
        missing="No clause lets one party alone end the contract at will",
    ),
    Check.of(
        "assignment without consent",
        [
            r"\b(?:may|can|shall\s+be\s+(?:free|entitled)\s+to|is\s+entitled\s+to|is\s+free\s+to)\s+(?:[\w,]+\s+){0,3}?"
            rf"(?:assign|transfer|novate)\b{IN}{{0,160}}?\bwithout\s+(?:the\s+)?(?:need\s+for\s+|requiring\s+)?(?:[\w'\u2019]+\s+){{0,3}}?(?:consent|approval|agreement|permission)",
            r"\bfreely\s+(?:assign|transfer)|\b(?:assign|transfer)(?:able)?\s+(?:\w+\s+){0,3}freely\b",
            rf"\bwithout\s+(?:the\s+)?(?:need\s+for\s+|requiring\s+)?(?:[\w'\u2019]+\s+){{0,3}}?(?:consent|approval){IN}{{0,80}}\b(?:assign|transfer|novate)",
            rf"\bno\s+(?:such\s+)?(?:consent|approval)\s+(?:shall\s+be|is|will\s+be)\s+(?:required|needed)\b{IN}{{0,80}}\b(?:assign|transfer)",
            rf"\b(?:assign|transfer)\w*\b{IN}{{0,80}}\bno\s+(?:such\s+)?(?:consent|approval)\s+(?:shall\s+be|is|will\s+be)\s+(?:required|needed)",
        ],
        guards=[r"\b(?:neither|nor)\b|\b(?:shall|may|must)\s+not\b"],
        # "Neither party may assign …, except that the Supplier may transfer … without consent"
        local_guards=True,
        subject=r"\bassign|\btransfer",
        cue=["assign", "transfer", "novat"],
        missing="No clause lets a party assign the contract without the other's consent",
    ),
)
