"""The clause classifier shipped with the package: what it is, that it loads without pickle, and
that the one thing it relies on from scikit-learn beyond the documented API holds (a
``TfidfVectorizer`` rebuilt from a stored vocabulary and IDF reads text as the fitted one did)."""

from __future__ import annotations

from importlib import resources

import numpy as np

from actors.contracts.categories import CATEGORIES, category
from actors.contracts.classifier import MODEL_FILE, ClauseModel, shipped, vectorizer

CLAUSES = [
    "The Licensee shall keep complete books and records, which the Licensor may audit once a year.",
    "This Agreement shall be governed by the laws of the State of New York.",
    "Neither party shall solicit or hire any employee of the other party during the Term.",
    "Supplier shall maintain commercial general liability insurance of at least $2,000,000.",
    "The Company may terminate this Agreement for convenience on ninety days' written notice.",
    "The parties shall meet monthly to review the marketing plan.",
]


def test_a_vectorizer_rebuilt_from_vocabulary_and_idf_reads_text_as_the_fitted_one() -> None:
    fitted = vectorizer(min_df=1)
    expected = fitted.fit_transform(CLAUSES)
    rebuilt = vectorizer(vocabulary=fitted.vocabulary_)
    rebuilt.idf_ = fitted.idf_
    assert np.allclose(rebuilt.transform(CLAUSES).toarray(), expected.toarray())


def test_the_shipped_model_is_small_loads_without_pickle_and_covers_every_cuad_category() -> None:
    source = resources.files("actors.contracts").joinpath(MODEL_FILE)
    assert len(source.read_bytes()) <= 20_000_000
    model = ClauseModel.load()  # np.load(allow_pickle=False) inside: an object array would raise
    assert set(model.categories) == {c.name for c in CATEGORIES} and len(model.categories) == 41
    assert "Atticus" in model.training["data"]
    assert model.weights.shape == (41, len(model.vocabulary))


def test_clauses_read_as_their_category() -> None:
    model = shipped()
    scores = model.scores(CLAUSES)
    expected = [
        "Audit Rights",
        "Governing Law",
        "No-Solicit Of Employees",
        "Insurance",
        "Termination For Convenience",
    ]
    for row, name in enumerate(expected):
        assert model.categories[int(np.argmax(scores[row] - model.threshold))] == name, CLAUSES[row]
        assert scores[row, model.index(name)] >= model.threshold[model.index(name)]
    # every CUAD contract has a name and parties, so those two are always found; none of the others
    substantive = [model.index(c.name) for c in CATEGORIES if c.name not in ("Document Name", "Parties")]
    assert not (scores[5, substantive] >= model.threshold[substantive]).any(), "a meeting is no clause type"


def test_categories_are_found_by_their_cuad_names_and_the_names_reviewers_use() -> None:
    assert category("Audit Rights") is category("audit rights") is category("  AUDIT   rights ")
    assert category("MFN") is category("most favored nation")
    assert category("rofr/rofo/rofn") is category("right of first refusal")
    assert category("a clause about lunch") is None
