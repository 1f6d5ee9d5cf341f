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

A criterion about one of the CUAD clause types (``categories.topic``) is scored through the
clause classifier instead: the contract ranks by how likely it is to have the clause
(``NOT_FOUND_SHARE`` of ``max_score`` at most when no clause reaches the type's threshold,
``MISS_SHARE`` when the clauses found do not meet, from half up when one meets), and the clauses
it finds are judged as above, whatever words they use for the subject (``on_topic``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import polarity
from .categories import Category, topic
from .classifier import ClauseModel, shipped
from .clauses import Clause, quote, split_clauses
from .criteria import EVIDENCE_CHARS, Criterion, Judgement, Verdict, word_at
from .quantities import Bound, Quantity, meets, quantities
from .reading import Reading
from .vocabulary import in_sense

__all__ = ["EVIDENCE_CHARS", "Contract", "ContractScorer", "Criterion", "ScoredContract", "Verdict"]

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
#: The most a contract scores (of ``max_score``) when the classifier finds no clause about the
#: criterion's subject, by how likely it still is to have one; and when it finds one that does not
#: meet: below every contract that meets, above every one without the clause.
NOT_FOUND_SHARE = 0.2
MISS_SHARE = 0.45


@dataclass(frozen=True, slots=True)
class Contract:
    doc_id: str
    filename: str
    text: str


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

    def __init__(self, criterion: str, max_score: int, *, model: ClauseModel | None = None) -> None:
        self.criterion = Criterion.parse(criterion)
        self.max_score = max_score
        self.model = model or shipped()
        #: The CUAD category the criterion is about, if any (then the classifier finds its clauses).
        self.topic = topic(self.criterion.subject, self.model, words=set(self.criterion.words))

    def judge(self, clause: Clause, *, on_topic: bool = False) -> Judgement:
        """One clause against the criterion (``on_topic``: the classifier reads the clause as what the
        criterion is about, so it is judged whatever words it uses for it)."""
        criterion = self.criterion
        total = sum(criterion.weights.values()) or 1.0
        words = in_sense(clause.text, clause.words, criterion.weights)  # "for convenience of reference": not
        found = [(term, offset) for term, offset in words if term in criterion.weights]
        terms = tuple(dict.fromkeys(term for term, _ in found))
        relevance = sum(criterion.weights[term] for term in terms) / total
        matched = tuple(dict.fromkeys(word_at(clause.text, offset) for _, offset in found))
        if on_topic and relevance < MENTION_SHARE:
            # its words for the subject are in another sense ("freight insurance"): not on topic after all
            lost = {term for term, _ in clause.words if term in criterion.weights} - set(terms)
            on_topic = not lost
        if not on_topic and (relevance < MENTION_SHARE or not found):
            said = f"mentions only {_listed(matched)}" if matched else "does not mention it"
            return Judgement(clause, Verdict.NOT_MENTIONED, 0.0, relevance, said, matched, terms)
        anywhere = not found  # on topic in words of its own: any quantity of the clause is about it
        focus = _focus(clause.text, [offset for _, offset in found])
        denial = polarity.negation(focus)
        if criterion.condition:
            needed, waived = polarity.consent_required(focus), polarity.consent_waived(focus)
            if not needed:
                said = (
                    f'says "{waived}"'
                    if waived
                    else f'says "{denial}" outright'
                    if denial
                    else "asks no consent"
                )
                reason = f'{said}, where the criterion says "{criterion.condition}"'
                return self._miss(clause, relevance, reason, matched, MISS_FACTOR)
            denial = None  # "may not assign without consent" is the requirement, not a denial
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
        unnamed = criterion.asked.miss(clause.text, focus)
        if unnamed:
            return self._miss(clause, relevance, unnamed, matched, MISS_FACTOR)
        facts: list[str] = []
        for required in criterion.required:
            comparable = [
                q
                for q in stated
                if meets(required, q) is not None
                and (anywhere or _distance(q, found) <= MAX_QUANTITY_DISTANCE)
            ]
            if not comparable:
                reason = f'states no {_kind(required)} for it; asked: "{required.written}"'
                return self._miss(clause, relevance, reason, matched, 0)
            nearest = min(comparable, key=lambda q: q.start if anywhere else _distance(q, found))
            if not meets(required, nearest):
                reason = f'states "{nearest.written}", which does not meet "{required.written}"'
                return self._miss(clause, relevance, reason, matched, MISS_FACTOR)
            facts.append(f'states "{nearest.written}", which meets "{required.written}"')
        given_away = polarity.discretion(focus)
        if given_away:
            return self._miss(
                clause, relevance, f'leaves it to discretion: "{given_away}"', matched, MISS_FACTOR
            )
        said = f"says {_listed(matched)}" if matched else "reads as what the criterion is about"
        reason = "; ".join(facts) or said + (f' ("{denial}")' if denial else "")
        place = criterion.asked.fact(clause.text) if criterion.asked.places else None
        reason += f"; {place}" if place else ""
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

    def score(self, contract: Contract, *, reading: Reading | None = None) -> ScoredContract:
        """The contract against the criterion (``reading``: its clauses, already read by the model)."""
        clauses = reading.clauses if reading else split_clauses(contract.text)
        if self.topic is not None:
            return self._on_topic(contract, reading or Reading(clauses, self.model), self.topic)
        return self._by_words(contract, clauses)

    def _by_words(self, contract: Contract, clauses: Sequence[Clause]) -> ScoredContract:
        """The contract judged clause by clause on the criterion's words alone."""
        judgements = [self.judge(clause) for clause in clauses]
        ranked = sorted(judgements, key=lambda j: (_RANK[j.verdict], -j.score, -j.relevance, j.clause.index))
        shown = [j for j in ranked[:EVIDENCE_CLAUSES] if j.verdict is not Verdict.NOT_MENTIONED]
        best = shown[0] if shown else None
        if best is None and not self.criterion.words:
            reason = "The criterion names nothing to look for, only quantities"
        elif best is None:  # "No clause mentions" only what no clause mentions, in any of its words
            said = {term for judgement in judgements for term in judgement.terms}
            unsaid = tuple(word for term, word in self.criterion.words.items() if term not in said)
            nearest = max(judgements, key=lambda j: j.relevance) if said else None
            reason = f"No clause mentions {_listed(unsaid, 'or') if unsaid else 'all of it together'}"
            reason += f"; the nearest (clause {nearest.clause.index + 1}) {nearest.reason}" if nearest else ""
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

    def _on_topic(self, contract: Contract, reading: Reading, category: Category) -> ScoredContract:
        """A criterion about a CUAD category: the classifier finds the clauses about it and how
        likely the contract is to have one; the rules judge whether they say what is asked."""
        index = self.model.index(category.name)
        located = reading.locate(index)
        probability = located.probability if located else 0.0
        threshold = float(self.model.threshold[index])
        found = reading.ranked(index, EVIDENCE_CLAUSES) if located and located.present else []
        judgements = [self.judge(clause, on_topic=True) for clause, score in found if score >= threshold]
        # a clause the rules find is about something else ("freight insurance") does not count
        judgements = [j for j in judgements if j.verdict is not Verdict.NOT_MENTIONED]
        if not judgements:
            by_words = self._by_words(contract, reading.clauses)
            if by_words.verdict is Verdict.MEETS:  # in words the classifier did not learn: less sure
                by_words.score = round(self.max_score * (0.5 + 0.5 * probability), 1)
            if by_words.verdict is not Verdict.NOT_MENTIONED:
                return by_words
            return ScoredContract(
                doc_id=contract.doc_id,
                filename=contract.filename,
                score=round(self.max_score * NOT_FOUND_SHARE * probability, 1),
                verdict=Verdict.NOT_MENTIONED,
                reason=f"No clause found with {category.meaning}",
                evidence=[],
            )
        best = next((j for j in judgements if j.verdict is Verdict.MEETS), judgements[0])
        if best.verdict is Verdict.MEETS:
            carved = best.score / _met(best.relevance)  # what an exception took off, if any
            score, verdict = (0.5 + 0.5 * probability) * carved, "Meets"
        else:
            score, verdict = MISS_SHARE * (1 + probability) / 2, "Does not meet"
        if best.reason == "reads as what the criterion is about":
            said = located.sentence(self.model, index) if located else ""
            reason = f'{verdict}: the clause reads as {category.meaning}: "{said}"'
        else:
            reason = f"{verdict}: the clause {best.reason}"
        return ScoredContract(
            doc_id=contract.doc_id,
            filename=contract.filename,
            score=round(self.max_score * score, 1),
            verdict=best.verdict,
            reason=reason,
            evidence=[
                judgement.evidence() for judgement in [best, *(j for j in judgements if j is not best)]
            ],
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


def _focus(text: str, offsets: Sequence[int]) -> str:
    """The sentences of ``text`` that hold the criterion's words (what polarity is read on)."""
    spans = [
        (start, end) for start, end in polarity.sentences(text) if any(start <= o < end for o in offsets)
    ]
    return " ".join(text[start:end] for start, end in spans) or text


def _listed(words: tuple[str, ...], joiner: str = "and") -> str:
    quoted = [f'"{word}"' for word in words]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {joiner} {quoted[-1]}"
