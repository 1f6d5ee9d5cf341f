"""Train the clause classifier (``actors/contracts/reference/clause-model.npz``) from CUAD.

    .venv/bin/python -m tests.evaluation.train_model PATH/TO/cuad-dev.json.gz [--out FILE] [--seed 0]

CUAD v1 is by The Atticus Project, under CC BY 4.0: every contract's text with the character
spans of 41 clause categories. The data is read from the path given and never copied into the
repository; what ships is the model alone (vocabulary, IDF, weights, thresholds).

Each contract is cut into the clauses the auditor reads (``split_clauses``); a clause is an
example of a category when it overlaps one of the category's spans. One linear SVM per category
learns from TF-IDF unigrams and bigrams. A contract's score for a category is its best clause's;
the threshold that score must reach, and the curve that turns it into a probability, are chosen
on scores out of fold (``INNER_FOLDS``-fold cross-validation by contract), never on contracts the
weights saw. Same data and seed, same file.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.svm import LinearSVC

from actors.contracts.classifier import MODEL_FILE, ClauseModel, vectorizer
from actors.contracts.clauses import Clause, split_clauses

DEFAULT_OUT = Path(__file__).parents[2] / "actors" / "contracts" / MODEL_FILE
MAX_FEATURES = 80_000  # keeps the shipped file near 5 MB; more features gained nothing out of fold
MIN_DF = 2
SVM_C = 0.3
INNER_FOLDS = 3
#: Least overlap (characters) that makes a clause an example of a span's category.
MIN_OVERLAP = 20
CREDIT = "CUAD v1 by The Atticus Project, CC BY 4.0"


def load(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as file:
        data = json.load(file)
    return list(data["categories"]), list(data["contracts"])


def overlaps(start: int, end: int, spans: Sequence[Sequence[int]]) -> bool:
    return any(min(end, e) - max(start, s) >= min(MIN_OVERLAP, e - s) for s, e in spans)


def examples(
    contracts: Sequence[dict[str, Any]], categories: Sequence[str]
) -> tuple[list[str], np.ndarray, np.ndarray, list[list[Clause]]]:
    """Clause texts, their labels (clauses by categories), the contract of each, and the clauses."""
    texts: list[str] = []
    labels: list[list[bool]] = []
    owner: list[int] = []
    cut: list[list[Clause]] = []
    for number, contract in enumerate(contracts):
        clauses = split_clauses(contract["text"])
        cut.append(clauses)
        for clause in clauses:
            texts.append(clause.text)
            labels.append([overlaps(clause.start, clause.end, contract["spans"][c]) for c in categories])
            owner.append(number)
    return texts, np.array(labels, dtype=bool), np.array(owner), cut


def _fit_one(features: Any, labels: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    if not labels.any():
        return np.zeros(features.shape[1], dtype=np.float32), -10.0
    svm = LinearSVC(C=SVM_C, class_weight="balanced", random_state=seed, max_iter=5000)
    svm.fit(features, labels)
    return svm.coef_[0].astype(np.float32), float(svm.intercept_[0])


def fit(texts: Sequence[str], labels: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Vocabulary, IDF and per-category weights fitted to the clauses given."""
    reader = vectorizer(min_df=MIN_DF, max_features=MAX_FEATURES)
    features = reader.fit_transform(texts)
    fitted = Parallel(n_jobs=2)(
        delayed(_fit_one)(features, labels[:, column], seed) for column in range(labels.shape[1])
    )
    vocabulary = sorted(reader.vocabulary_, key=reader.vocabulary_.__getitem__)
    return {
        "vocabulary": np.array(vocabulary),
        "idf": reader.idf_,
        "weights": np.stack([w for w, _ in fitted]),
        "intercept": np.array([b for _, b in fitted], dtype=np.float32),
    }


def contract_scores(clause_scores: np.ndarray, owner: np.ndarray, contracts: int) -> np.ndarray:
    """(contracts by categories): each contract's best clause score."""
    best = np.full((contracts, clause_scores.shape[1]), -np.inf, dtype=np.float32)
    np.maximum.at(best, owner, clause_scores)
    return best


def presence(contracts: Sequence[dict[str, Any]], categories: Sequence[str]) -> np.ndarray:
    return np.array([[bool(c["spans"][name]) for name in categories] for c in contracts])


def best_threshold(scores: np.ndarray, present: np.ndarray) -> float:
    """The threshold with the best F1 on these scores (midway between neighbouring scores)."""
    if not present.any():
        return float(scores.max() + 1.0)
    order = np.sort(np.unique(scores))
    candidates = np.concatenate([[order[0] - 1.0], (order[1:] + order[:-1]) / 2, [order[-1] + 1.0]])
    best, chosen = -1.0, 0.0
    for threshold in candidates:
        predicted = scores >= threshold
        f1 = 2 * (predicted & present).sum() / (predicted.sum() + present.sum())
        if f1 > best:
            best, chosen = f1, float(threshold)
    return chosen


def train(
    contracts: Sequence[dict[str, Any]], categories: Sequence[str], *, seed: int = 0, log: bool = False
) -> ClauseModel:
    texts, labels, owner, _ = examples(contracts, categories)
    out_of_fold = np.zeros(labels.shape, dtype=np.float32)
    for fold, (train_rows, test_rows) in enumerate(GroupKFold(INNER_FOLDS).split(texts, labels, owner)):
        started = time.perf_counter()
        part = fit([texts[i] for i in train_rows], labels[train_rows], seed)
        model = _model(categories, part, np.zeros(len(categories)), np.zeros((len(categories), 2)), {})
        out_of_fold[test_rows] = model.scores([texts[i] for i in test_rows])
        if log:
            print(f"  inner fold {fold}: {time.perf_counter() - started:.0f} s")
    best = contract_scores(out_of_fold, owner, len(contracts))
    present = presence(contracts, categories)
    thresholds = np.array([best_threshold(best[:, c], present[:, c]) for c in range(len(categories))])
    curves = np.array([_curve(best[:, c], present[:, c]) for c in range(len(categories))])
    training = {
        "data": CREDIT,
        "contracts": len(contracts),
        "clauses": len(texts),
        "seed": seed,
        "features": f"TF-IDF word 1-2 grams, min_df {MIN_DF}, at most {MAX_FEATURES}",
        "model": f"LinearSVC C={SVM_C}, class_weight=balanced, one per category",
        "thresholds": f"best F1 of contract scores out of fold ({INNER_FOLDS} folds by contract)",
    }
    return _model(categories, fit(texts, labels, seed), thresholds, curves, training)


def _curve(scores: np.ndarray, present: np.ndarray) -> tuple[float, float]:
    if present.all() or not present.any():
        return 0.0, 6.0 if present.all() else -6.0
    logistic = LogisticRegression(C=1.0).fit(scores.reshape(-1, 1), present)
    return float(logistic.coef_[0, 0]), float(logistic.intercept_[0])


def _model(
    categories: Sequence[str],
    part: dict[str, np.ndarray],
    thresholds: np.ndarray,
    curves: np.ndarray,
    training: dict[str, Any],
) -> ClauseModel:
    return ClauseModel(
        categories=tuple(categories),
        vocabulary=tuple(str(term) for term in part["vocabulary"]),
        idf=part["idf"],
        weights=part["weights"],
        intercept=part["intercept"],
        threshold=thresholds.astype(np.float32),
        curve=curves.astype(np.float32),
        training=training,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="the CUAD JSON (gzip) file")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    categories, contracts = load(arguments.dataset)
    started = time.perf_counter()
    model = train(contracts, categories, seed=arguments.seed, log=True)
    model.training["trained"] = datetime.date.today().isoformat()
    model.training["seconds"] = round(time.perf_counter() - started)
    model.save(arguments.out)
    print(
        f"wrote {arguments.out} ({arguments.out.stat().st_size / 1e6:.1f} MB): {json.dumps(model.training)}"
    )


if __name__ == "__main__":
    main()
