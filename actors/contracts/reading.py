"""A contract as the clause classifier reads it: every clause's score for every CUAD category, once.

The auditor asks a reading whether the contract has a category's clause, and which clause says
so; the scorer asks it how likely the contract is to have the clause a criterion is about. Both
get the same answer for the same contract, computed in one pass of the model over its clauses.
The evidence is the clause that scores highest, among the clauses that bind (a table of contents
entry or a bare heading names a subject and says nothing of it: ``structure.py``); the reason
quotes its sentence that scores highest, so what is said is said of the words shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import polarity
from .classifier import ClauseModel
from .clauses import Clause, quote
from .structure import Kind
from .structure import kinds as passage_kinds


@dataclass(frozen=True, slots=True)
class Located:
    """The clause that reads most as a category, how strongly, and how likely the contract has it."""

    clause: Clause
    score: float
    probability: float
    present: bool  # the score reaches the category's threshold

    def sentence(self, model: ClauseModel, category: int, limit: int = 200) -> str:
        """The clause's sentence that reads most as the category (what a reason may quote), read
        without its numbering and heading ("12. Audit." is where it stands, not what it says)."""
        plain = self.clause.plain or self.clause.text
        spans = [(start, end) for start, end in polarity.sentences(plain) if plain[start:end].strip()]
        if len(spans) > 1:
            texts = [plain[start:end] for start, end in spans]
            start, end = spans[int(np.argmax(model.scores(texts)[:, category]))]
        else:
            start, end = spans[0] if spans else (0, len(self.clause.text))
        start += len(plain[start:end]) - len(plain[start:end].lstrip())  # past the blanked heading
        return quote(self.clause.text[start:end].strip(), limit)


#: The types whose passage may be a title or stand in the preamble; for every other type a table of
#: contents entry or a bare heading only names the subject, and is never the clause.
OPENING_TYPES = frozenset(["Document Name", "Parties", "Agreement Date", "Effective Date"])
_NAMES_ONLY = frozenset([Kind.TABLE_OF_CONTENTS, Kind.HEADING])


class Reading:
    def __init__(
        self, clauses: Sequence[Clause], model: ClauseModel, *, kinds: Sequence[Kind] | None = None
    ) -> None:
        self.clauses = list(clauses)
        self.model = model
        self.scores = model.scores([clause.text for clause in self.clauses])
        names_only = [kind in _NAMES_ONLY for kind in (kinds or passage_kinds(self.clauses))]
        self._binding = self.scores.copy()  # what a clause that binds scores: a contents line, nothing
        if not all(names_only):
            self._binding[np.array(names_only, dtype=bool)] = -np.inf
        self._opening = np.array([name in OPENING_TYPES for name in model.categories])

    def _column(self, category: int) -> np.ndarray:
        return self.scores[:, category] if self._opening[category] else self._binding[:, category]

    def locate(self, category: int) -> Located | None:
        """Where the contract says what the category is about (None for a contract of no clauses)."""
        if not self.clauses:
            return None
        row = int(np.argmax(self._column(category)))
        score = float(self.scores[row, category])
        return Located(
            clause=self.clauses[row],
            score=score,
            probability=self.model.probability(category, score),
            present=score >= float(self.model.threshold[category]),
        )

    def ranked(self, category: int, count: int) -> list[tuple[Clause, float]]:
        """The ``count`` clauses that read most as the category, best first."""
        column = self._column(category)
        order = [row for row in np.argsort(-column, kind="stable")[:count] if np.isfinite(column[row])]
        return [(self.clauses[row], float(self.scores[row, category])) for row in order]
