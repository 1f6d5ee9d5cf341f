"""The learned clause classifier: how strongly each passage of a contract reads as each CUAD clause type.

A linear model over TF-IDF word unigrams and bigrams, one weight vector per category, trained
from CUAD v1 (The Atticus Project, CC BY 4.0) by ``tests/evaluation/train_model.py`` and shipped
as ``reference/clause-model.npz``: the vocabulary, its inverse document frequencies, the weights
(float16), and per category the threshold a contract's best passage must reach for the clause
to count as present and the logistic curve that turns that passage's score into a probability.
Both were chosen out of fold, on contracts the weights were not fitted to.

This module is the one door to scikit-learn: the vectorizer is rebuilt from the stored
vocabulary and IDF (setting ``idf_`` on an unfitted ``TfidfVectorizer``), which
``tests/test_classifier.py`` pins and ``pyproject.toml`` bounds. No pickle is ever loaded.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

MODEL_FILE = "reference/clause-model.npz"
#: How the vectorizer reads text; the training script builds its own from the same settings.
VECTORIZER = {"ngram_range": (1, 2), "sublinear_tf": True, "lowercase": True, "dtype": np.float32}


def vectorizer(**overrides: Any) -> TfidfVectorizer:
    # Imported here, not at the top: scikit-learn brings SciPy (600 modules, about 90 MiB, and
    # 150,000 objects every full garbage collection walks) into every process that imports the
    # contract domain, the web's included, which never scores (docs/benchmarks.md, "Issue 26").
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**{**VECTORIZER, **overrides})


@dataclass(frozen=True)
class ClauseModel:
    categories: tuple[str, ...]
    vocabulary: tuple[str, ...]
    idf: np.ndarray  # (features,)
    weights: np.ndarray  # (categories, features), float32
    intercept: np.ndarray  # (categories,)
    threshold: np.ndarray  # (categories,): a contract has the clause when its best passage reaches it
    curve: np.ndarray  # (categories, 2): probability = 1 / (1 + exp(-(a * score + b)))
    training: dict[str, Any]

    def __post_init__(self) -> None:
        reader = vectorizer(vocabulary={term: index for index, term in enumerate(self.vocabulary)})
        reader.idf_ = self.idf
        object.__setattr__(self, "_reader", reader)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """(passages, categories): each passage's decision value for each category."""
        if not texts:
            return np.zeros((0, len(self.categories)), dtype=np.float32)
        features = self._reader.transform(texts)  # type: ignore[attr-defined]
        return np.asarray(features @ self.weights.T) + self.intercept

    def probability(self, category: int, score: float) -> float:
        """How likely a contract whose best passage scores ``score`` has the clause."""
        slope, offset = self.curve[category]
        return float(1.0 / (1.0 + np.exp(-(slope * score + offset))))

    def index(self, category: str) -> int:
        return self.categories.index(category)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            categories=np.array(self.categories),
            vocabulary=np.array(self.vocabulary),
            idf=self.idf.astype(np.float32),
            weights=self.weights.astype(np.float16),  # halves the file; scores move by < 1e-3
            intercept=self.intercept.astype(np.float32),
            threshold=self.threshold.astype(np.float32),
            curve=self.curve.astype(np.float32),
            training=np.array(json.dumps(self.training)),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> ClauseModel:
        source = path or resources.files(__package__).joinpath(MODEL_FILE)
        with source.open("rb") as file, np.load(file, allow_pickle=False) as stored:
            return cls(
                categories=tuple(str(name) for name in stored["categories"]),
                vocabulary=tuple(str(term) for term in stored["vocabulary"]),
                idf=stored["idf"].astype(np.float64),
                weights=stored["weights"].astype(np.float32),
                intercept=stored["intercept"].astype(np.float32),
                threshold=stored["threshold"].astype(np.float32),
                curve=stored["curve"].astype(np.float32),
                training=json.loads(str(stored["training"])),
            )


@functools.cache
def shipped() -> ClauseModel:
    """The model shipped with the package, loaded once per process."""
    return ClauseModel.load()
