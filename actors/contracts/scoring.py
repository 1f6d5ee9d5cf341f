"""The offline scorer: whether each contract meets a criterion, how well, why, and where it says so.

A criterion is read as *what it is about* (its words, each weighed by ``weights.py``, a fixed
reference corpus, so a contract scores the same in every workspace), *what it requires*
(its quantities, ``quantities.py``: "within 30 days", "at least £5 million") and *whether it
affirms or denies* (``polarity.py``). Each clause of a contract is then judged:

- **not mentioned** when it holds less than ``MENTION_SHARE`` of the criterion's weight;
- **meets** when it does, it states a quantity that meets each one the criterion requires (the
  one nearest the criterion's words, when it states several), and it affirms or denies as the
  criterion does;
- **does not meet** otherwise: a quantity on the wrong side ("60 days" for "within 30 days"),
  none at all where one is required, or the opposite polarity ("shall not").

A clause that meets scores from 0.5 to 1 with its *relevance* (the share of the criterion's
weight it holds); an exception in it ("except …", "unless …") takes ``EXCEPTION_FACTOR`` off, and
one that leaves the promise to a party's discretion makes it not meet. A clause that mentions
the subject but does not meet scores at most ``MISS_FACTOR`` of its relevance, or 0 where it
states no quantity the criterion requires. A contract's score is its best clause's, times
``max_score``; its evidence is its best clauses, each with its verdict, its reason in words and
its place in the document. Same input, same output: no randomness, no network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from . import polarity
from .clauses import Clause, quote, split_clauses
from .clauses import words as clause_words
from .quantities import Bound, Quantity, meets, quantities
from .vocabulary import LINKING_STEMS, PARTY_STEMS
from .weights import weight

#: The share of a criterion's weight a clause must hold to mention it at all.
MENTION_SHARE = 0.5
#: What an exception takes off a clause that meets.
EXCEPTION_FACTOR = 0.85
#: The most a clause that mentions the subject but does not meet keeps of its relevance.
MISS_FACTOR = 0.2
EVIDENCE_CLAUSES = 3
#: The farthest (in characters) a clause's quantity may stand from the criterion's words and
#: still be the one the criterion asks about ("The Initial Term …, renewed for one year" is not).
MAX_QUANTITY_DISTANCE = 60
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
class Contract:
    doc_id: str
    filename: str
    text: str


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

    @classmethod
    def parse(cls, text: str) -> Criterion:
        required = tuple(quantities(text))
        subject = _blank(text, [(q.start, q.end) for q in required])
        subject = _BOUND_WORDS.sub(lambda match: " " * len(match.group()), subject)
        words = {
            term: _word_at(subject, offset)
            for term, offset in clause_words(subject)
            if term not in LINKING_STEMS and term not in PARTY_STEMS
        }
        weights = {term: weight(term) for term in words}
        return cls(text, words, weights, required, polarity.negation(text), polarity.mutual(text))


@dataclass(frozen=True, slots=True)
class Judgement:
    clause: Clause
    verdict: Verdict
    score: float  # 0 to 1
    relevance: float
    reason: str
    matched: tuple[str, ...]  # the clause's own words that the criterion has

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


@dataclass
class ScoredContract:
    doc_id: str
    filename: str
    score: float
    verdict: Verdict
    reason: str
    evidence: list[dict[str, object]]

    def as_dict(self) -> dict[str, object]:
        return {
            "doc_id": self.doc_id,
            "filename": self.filename,
            "score": self.score,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "evidence": self.evidence,
        }


class ContractScorer:
    """Scores contracts against one criterion, each on its own."""

    def __init__(self, criterion: str, max_score: int) -> None:
        self.criterion = Criterion.parse(criterion)
        self.max_score = max_score

    def judge(self, clause: Clause) -> Judgement:
        """One clause against the criterion."""
        criterion = self.criterion
        total = sum(criterion.weights.values()) or 1.0
        found = [(term, offset) for term, offset in clause.words if term in criterion.weights]
        relevance = sum(criterion.weights[term] for term in {term for term, _ in found}) / total
        matched = tuple(dict.fromkeys(_word_at(clause.text, offset) for _, offset in found))
        if relevance < MENTION_SHARE or not found:
            return Judgement(clause, Verdict.NOT_MENTIONED, 0.0, relevance, "does not mention it", matched)
        focus = _focus(clause.text, [offset for _, offset in found])
        denial = polarity.negation(focus)
        stated = quantities(clause.text) if criterion.required else []  # the costly part: only if asked
        if denial and not criterion.negation and _denies_any_amount(criterion, stated):
            # "No interest shall be payable" is no interest: within any "no more than 2%".
            reason = f'says "{denial}": none at all'
            return Judgement(clause, Verdict.MEETS, _met(relevance), relevance, reason, matched)
        if bool(denial) != bool(criterion.negation):
            said = f'says "{denial}"' if denial else "does not deny it"
            asked = f'says "{criterion.negation}"' if criterion.negation else "affirms"
            return self._miss(clause, relevance, f"{said}, where the criterion {asked}", matched, MISS_FACTOR)
        if criterion.mutual and not polarity.mutual(focus):
            return self._miss(
                clause, relevance, "gives it to one party only, not to both", matched, MISS_FACTOR
            )
        facts: list[str] = []
        for required in criterion.required:
            comparable = [
                q
                for q in stated
                if meets(required, q) is not None and _distance(q, found) <= MAX_QUANTITY_DISTANCE
            ]
            if not comparable:
                reason = f'states no {_kind(required)} for it; asked: "{required.written}"'
                return self._miss(clause, relevance, reason, matched, 0)
            nearest = min(comparable, key=lambda q: _distance(q, found))
            if not meets(required, nearest):
                reason = f'states "{nearest.written}", which does not meet "{required.written}"'
                return self._miss(clause, relevance, reason, matched, MISS_FACTOR)
            facts.append(f'states "{nearest.written}", which meets "{required.written}"')
        given_away = polarity.discretion(focus)
        if given_away:
            return self._miss(
                clause, relevance, f'leaves it to discretion: "{given_away}"', matched, MISS_FACTOR
            )
        reason = "; ".join(facts) or f"says {_listed(matched)}" + (f' ("{denial}")' if denial else "")
        score = _met(relevance)
        carved = polarity.exception(focus)
        if carved:
            score *= EXCEPTION_FACTOR
            reason += f', with an exception: "{quote(carved, 120)}"'
        return Judgement(clause, Verdict.MEETS, score, relevance, reason, matched)

    def _miss(
        self, clause: Clause, relevance: float, reason: str, matched: tuple[str, ...], factor: float
    ) -> Judgement:
        return Judgement(clause, Verdict.DOES_NOT_MEET, factor * relevance, relevance, reason, matched)

    def score(self, contract: Contract) -> ScoredContract:
        judgements = [self.judge(clause) for clause in split_clauses(contract.text)]
        ranked = sorted(judgements, key=lambda j: (_RANK[j.verdict], -j.score, -j.relevance, j.clause.index))
        shown = [j for j in ranked[:EVIDENCE_CLAUSES] if j.verdict is not Verdict.NOT_MENTIONED]
        best = shown[0] if shown else None
        if best is None and not self.criterion.words:
            reason = "The criterion names nothing to look for, only quantities"
        elif best is None:
            reason = f"No clause mentions {_listed(tuple(self.criterion.words.values()), 'or')}"
        else:
            reason = (
                f"{'Meets' if best.verdict is Verdict.MEETS else 'Does not meet'}: the clause {best.reason}"
            )
        return ScoredContract(
            doc_id=contract.doc_id,
            filename=contract.filename,
            score=round(self.max_score * best.score, 1) if best else 0.0,
            verdict=best.verdict if best else Verdict.NOT_MENTIONED,
            reason=reason,
            evidence=[judgement.evidence() for judgement in shown],
        )


def _distance(quantity: Quantity, found: Sequence[tuple[str, int]]) -> int:
    """Characters between a quantity and the nearest of the criterion's words in the clause."""
    return min(
        0
        if quantity.start <= offset <= quantity.end
        else min(abs(quantity.start - offset), abs(offset - quantity.end))
        for _, offset in found
    )


def _met(relevance: float) -> float:
    """The score of a clause that meets: from 0.5 to 1 with the share of the criterion it holds."""
    return 0.5 + 0.5 * relevance


def _denies_any_amount(criterion: Criterion, stated: Sequence[Quantity]) -> bool:
    """Whether a denial in the clause means "none" of what the criterion caps ("no more than
    2%"): the criterion only sets maximums and the clause states no amount of their kind."""
    return bool(criterion.required) and all(
        required.bound is Bound.AT_MOST
        and required.kind
        in {"percent", "money"}  # no period is "none": a denial of a deadline is no deadline
        and not any(meets(required, q) is not None for q in stated)
        for required in criterion.required
    )


_RANK = {Verdict.MEETS: 0, Verdict.DOES_NOT_MEET: 1, Verdict.NOT_MENTIONED: 2}
_KINDS = {"period": "period", "percent": "percentage", "money": "sum of money"}


def _kind(quantity: Quantity) -> str:
    return _KINDS[quantity.kind]


def _word_at(text: str, offset: int) -> str:
    match = re.match(r"[\w'-]+", text[offset:])
    return match.group() if match else text[offset : offset + 1]


def _blank(text: str, spans: Sequence[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _focus(text: str, offsets: Sequence[int]) -> str:
    """The sentences of ``text`` that hold the criterion's words (what polarity is read on)."""
    spans = [
        (start, end) for start, end in polarity.sentences(text) if any(start <= o < end for o in offsets)
    ]
    return " ".join(text[start:end] for start, end in spans) or text


def _listed(words: tuple[str, ...], joiner: str = "and") -> str:
    quoted = [f'"{word}"' for word in words]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {joiner} {quoted[-1]}"
