"""How much each word of a criterion weighs: inverse document frequencies from a fixed corpus.

The corpus (``reference/clauses.txt``, shipped with the package) is a few hundred clauses of
ordinary commercial contracts, one per paragraph. A word most clauses use ("agreement", "party",
"written") weighs little; a word few use ("arbitration", "invoice") weighs much; a word the
corpus never uses weighs as much as the rarest. The weights are the same for every workspace and
every run, so a contract's score depends on the contract and the criterion alone, never on the
documents stored next to it.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from importlib import resources

from .clauses import terms

REFERENCE_CORPUS = "reference/clauses.txt"


@functools.cache
def _reference() -> tuple[dict[str, float], float]:
    text = resources.files(__package__).joinpath(REFERENCE_CORPUS).read_text(encoding="utf-8")
    clauses = [set(terms(paragraph)) for paragraph in text.split("\n\n") if paragraph.strip()]
    frequency = Counter(term for clause in clauses for term in clause)
    total = len(clauses)
    idf = {term: math.log(1 + (total - n + 0.5) / (n + 0.5)) for term, n in frequency.items()}
    return idf, math.log(1 + (total + 0.5) / 0.5)


def weight(term: str) -> float:
    """The term's inverse document frequency in the reference corpus (unknown terms: the most)."""
    idf, unknown = _reference()
    return idf.get(term, unknown)
