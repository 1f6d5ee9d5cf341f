"""The offline scorer: how well each contract meets a criterion, with the passages that say so.

Every clause of every contract in the workspace is a document for Okapi BM25, and the criterion
is the query (inverse document frequencies come from the whole workspace, so words that every
contract uses weigh little). For each contract the three best clauses are its evidence. Its score
blends two things, each from 0 to 1: *coverage*, the share of the criterion's weight (IDF) that
the evidence contains, and *relevance*, the best clause's BM25 against that of an ideal clause
made of exactly the criterion's words.
``score = max_score * (0.6 * coverage + 0.4 * relevance)``, rounded to one decimal.
Same input, same output: no randomness, no network.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .clauses import quote, split_clauses, terms

BM25_K1 = 1.5
BM25_B = 0.75
EVIDENCE_CLAUSES = 3
COVERAGE_WEIGHT = 0.6
#: Characters of a clause quoted as evidence.
EVIDENCE_CHARS = 400


@dataclass
class ScoredContract:
    doc_id: str
    filename: str
    score: float
    coverage: float
    relevance: float
    evidence: list[dict[str, object]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "doc_id": self.doc_id,
            "filename": self.filename,
            "score": self.score,
            "coverage": round(self.coverage, 3),
            "relevance": round(self.relevance, 3),
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Contract:
    doc_id: str
    filename: str
    text: str


class WorkspaceScorer:
    """BM25 over every clause of a workspace's contracts, scoring one contract at a time (so the
    caller can report progress between contracts)."""

    def __init__(
        self,
        contracts: Sequence[Contract],
        criterion: str,
        max_score: int,
        *,
        on_indexed: Callable[[int], object] | None = None,
    ) -> None:
        """``on_indexed(n)`` after each contract's clauses are indexed (a progress report, which
        is also the job's cancellation checkpoint: indexing a large workspace takes a while)."""
        self.contracts = contracts
        self.max_score = max_score
        self.query = terms(criterion)
        self.clauses = []
        for contract in contracts:
            self.clauses.append(split_clauses(contract.text))
            if on_indexed is not None:
                on_indexed(len(self.clauses))
        flat = [clause.terms for clauses in self.clauses for clause in clauses]
        self.average_length = sum(map(len, flat)) / max(1, len(flat))
        frequency = Counter(term for clause_terms in flat for term in set(clause_terms))
        self.idf = {t: math.log(1 + (len(flat) - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}
        rarest = max(self.idf.values(), default=1.0)
        # A criterion word no contract uses weighs as much as the rarest word that one does.
        self.weights = {t: self.idf.get(t, rarest) for t in set(self.query)}
        # The BM25 of a clause made of exactly the criterion's words: what "fully relevant" means.
        self.ideal = self._bm25(Counter(self.query), len(self.query)) or 1.0

    def _bm25(self, counts: Counter[str], length: int) -> float:
        norm = BM25_K1 * (1 - BM25_B + BM25_B * length / max(self.average_length, 1e-9))
        return sum(
            self.weights[term] * counts[term] * (BM25_K1 + 1) / (counts[term] + norm)
            for term in self.weights
            if counts[term]
        )

    def score(self, position: int) -> ScoredContract:
        contract = self.contracts[position]
        ranked = sorted(
            (
                (self._bm25(Counter(clause.terms), len(clause.terms)), clause)
                for clause in self.clauses[position]
            ),
            key=lambda pair: (-pair[0], pair[1].index),
        )
        evidence = [pair for pair in ranked[:EVIDENCE_CLAUSES] if pair[0] > 0]
        found = {t for _, clause in evidence for t in clause.terms} & self.weights.keys()
        coverage = sum(self.weights[t] for t in found) / (sum(self.weights.values()) or 1.0)
        relevance = min(1.0, evidence[0][0] / self.ideal) if evidence else 0.0
        blended = COVERAGE_WEIGHT * coverage + (1 - COVERAGE_WEIGHT) * relevance
        return ScoredContract(
            doc_id=contract.doc_id,
            filename=contract.filename,
            score=round(self.max_score * blended, 1),
            coverage=coverage,
            relevance=relevance,
            evidence=[
                {
                    "clause": clause.index,
                    "text": quote(clause.text, EVIDENCE_CHARS),
                    "bm25": round(bm25, 3),
                    "matched_terms": sorted(set(clause.terms) & self.weights.keys()),
                }
                for bm25, clause in evidence
            ],
        )
