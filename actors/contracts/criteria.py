"""A criterion as the scorer reads it, and the verdict on one clause: the scorer's vocabulary.

``Criterion.parse`` reads what a criterion is about (its words, each weighed by ``weights.py``),
what it requires (its quantities, ``quantities.py``; the places and party it names, ``named.py``)
and whether it affirms, denies or makes something need consent (``polarity.py``). A
``Judgement`` is one clause's verdict against it, with the reason and the words that matched;
``scoring.py`` makes them and ranks the contracts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from . import polarity
from .clauses import Clause, quote
from .clauses import words as clause_words
from .named import Asked
from .quantities import Quantity, quantities
from .vocabulary import LINKING_STEMS, PARTY_STEMS
from .weights import weight

#: Characters of a clause quoted as evidence.
EVIDENCE_CHARS = 400
#: Words that bound a criterion's quantity: not what the criterion is about.
_BOUND_WORDS = re.compile(
    r"\b(?:least|most|later|longer|shorter|more|less|fewer|minimum|maximum|exceed\w*)\b", re.I
)


class Verdict(str, Enum):
    MEETS = "meets"
    DOES_NOT_MEET = "does_not_meet"
    NOT_MENTIONED = "not_mentioned"


@dataclass(frozen=True, slots=True)
class Criterion:
    """A criterion as the scorer reads it: its terms (stem -> its own word, and weight), the
    quantities it requires, and the words that deny, if it denies."""

    text: str
    words: dict[str, str]
    weights: dict[str, float]
    required: tuple[Quantity, ...]
    negation: str | None
    mutual: bool  # it speaks of both parties alike ("Either party may …")
    #: the places and the party it names, which a clause must name too (``named.py``)
    asked: Asked = field(default_factory=Asked)
    #: the consent it makes something need ("requires the other party's consent"), if any
    condition: str | None = None
    subject: str = ""  # the text without its quantities, places and bounds: what it is about

    @classmethod
    def parse(cls, text: str) -> Criterion:
        required = tuple(quantities(text))
        asked = Asked.read(text)
        # a place is asked for the way a quantity is (a clause that names another does not meet),
        # so its words are no part of what the criterion is about
        spans = [(q.start, q.end) for q in required] + [
            (p.start, p.start + len(p.written)) for p in asked.places
        ]
        subject = blank(text, spans)
        subject = _BOUND_WORDS.sub(lambda match: " " * len(match.group()), subject)
        words = {
            term: word_at(subject, offset)
            for term, offset in clause_words(subject)
            if term not in LINKING_STEMS and term not in PARTY_STEMS
        }
        weights = {term: weight(term) for term in words}
        condition = polarity.consent_required(text)
        # "may not subcontract without consent" requires consent: it denies nothing a clause may grant
        negation = None if condition else polarity.negation(text)
        mutual = polarity.mutual(text)
        return cls(
            text, words, weights, required, negation, mutual, asked, condition, " ".join(subject.split())
        )


@dataclass(frozen=True, slots=True)
class Judgement:
    clause: Clause
    verdict: Verdict
    score: float  # 0 to 1
    relevance: float
    reason: str
    matched: tuple[str, ...]  # the clause's own words that the criterion has
    terms: tuple[str, ...] = ()  # the criterion's terms the clause has

    def evidence(self) -> dict[str, object]:
        return {
            "clause": self.clause.index,
            "text": quote(self.clause.text, EVIDENCE_CHARS),
            "start": self.clause.start,
            "end": self.clause.end,
            "score": round(self.score, 3),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "matched_terms": list(self.matched),
        }


def word_at(text: str, offset: int) -> str:
    match = re.match(r"[\w'-]+", text[offset:])
    return match.group() if match else text[offset : offset + 1]


def blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text
