"""The auditor and the scorer measured on real contracts, out of sample: CUAD v1 by The Atticus Project.

    .venv/bin/python -m tests.evaluation.cuad PATH/TO/cuad-dev.json.gz [--folds 5] [--seed 0]

Cross-validation by contract: the contracts are dealt into ``--folds`` folds (seeded); for each
fold the clause classifier is trained on the others (``train_model.train``, thresholds chosen
inside those others) and the fold's contracts are then audited and scored with it, through the
same ``audit_contract`` and ``ContractScorer`` the jobs call. No figure comes from a contract the
model saw. Printed, per CUAD category:

- the auditor's precision, recall and F1 for "found", and its precision at 80 % recall;
- evidence: the share of items found, in contracts that have the clause, whose quoted clause
  overlaps one of the category's spans;
- the scorer's average precision for each criterion of ``cuad_criteria.json`` (contracts ranked
  by score within each fold), beside BM25 over 80-word windows ranking the same contracts;
- speed: audit (every CUAD item and the default checklist) and scoring, per contract.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve
from sklearn.model_selection import KFold

from actors.contracts.audit import audit_contract, parse_checklist
from actors.contracts.categories import CATEGORIES
from actors.contracts.checks import DEFAULT_CHECKLIST
from actors.contracts.classifier import ClauseModel
from actors.contracts.clauses import split_clauses
from actors.contracts.reading import Reading
from actors.contracts.scoring import Contract, ContractScorer

from .train_model import load, overlaps, train

CRITERIA = Path(__file__).with_name("cuad_criteria.json")
WINDOW_WORDS, WINDOW_STEP = 80, 40
CUAD_ITEMS = [category.item for category in CATEGORIES]


def bm25_scores(query: str, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> list[float]:
    """Each text's best 80-word window under BM25 for ``query`` (IDF over all the windows)."""
    tokenize = re.compile(r"[a-z0-9]+").findall
    windows: list[tuple[int, Counter[str], int]] = []
    for number, text in enumerate(texts):
        words = tokenize(text.lower())
        for start in range(0, max(1, len(words) - WINDOW_WORDS + WINDOW_STEP), WINDOW_STEP):
            piece = words[start : start + WINDOW_WORDS]
            windows.append((number, Counter(piece), len(piece)))
    average = sum(length for _, _, length in windows) / max(1, len(windows))
    frequency = Counter(term for _, counts, _ in windows for term in counts)
    terms = set(tokenize(query.lower()))
    idf = {t: math.log(1 + (len(windows) - frequency[t] + 0.5) / (frequency[t] + 0.5)) for t in terms}
    best = [0.0] * len(texts)
    for number, counts, length in windows:
        value = sum(
            idf[t] * counts[t] * (k1 + 1) / (counts[t] + k1 * (1 - b + b * length / average))
            for t in terms
            if counts[t]
        )
        best[number] = max(best[number], value)
    return best


def relevant(contract: dict[str, Any], criterion: dict[str, str]) -> bool:
    spans = contract["spans"][criterion["category"]]
    answer = criterion.get("answer")
    return bool(spans) and (
        answer is None or answer.lower() in contract["answers"][criterion["category"]].lower()
    )


def precision_at_recall(truth: Sequence[bool], scores: Sequence[float], recall: float = 0.8) -> float:
    precision, recalled, _ = precision_recall_curve(truth, scores)
    return float(precision[recalled >= recall].max())


def evaluate_fold(
    model: ClauseModel, contracts: Sequence[dict[str, Any]], criteria: Sequence[dict[str, str]], tally: dict
) -> None:
    checks = parse_checklist([*CUAD_ITEMS, *(check.item for check in DEFAULT_CHECKLIST)])
    scorers = [ContractScorer(criterion["criterion"], 100, model=model) for criterion in criteria]
    scores = np.zeros((len(criteria), len(contracts)))
    for number, contract in enumerate(contracts):
        started = time.perf_counter()
        audit = audit_contract(contract["text"], checks, model=model)
        tally["audit_seconds"].append(time.perf_counter() - started)
        for category, item in zip(CATEGORIES, audit["items"], strict=False):
            gold = contract["spans"][category.name]
            row = tally["items"][category.name]
            row["truth"].append(bool(gold))
            row["confidence"].append(item["confidence"])
            row["found"].append(item["found"])
            if item["found"] and gold:
                row["evidence"].append(overlaps(item["start"], item["end"], gold))
        reading = Reading(split_clauses(contract["text"]), model)
        document = Contract(str(number), contract["title"], contract["text"])
        for index, scorer in enumerate(scorers):  # the contract read once for every criterion
            scores[index, number] = scorer.score(document, reading=reading).score
        started = time.perf_counter()  # what a job pays: one criterion, the contract read for it
        scorers[number % len(scorers)].score(document)
        tally["score_seconds"].append(time.perf_counter() - started)
    texts = [contract["text"] for contract in contracts]
    names = [category.name for category in CATEGORIES]
    confidence = {name: tally["items"][name]["confidence"][-len(contracts) :] for name in names}
    for index, criterion in enumerate(criteria):
        truth = [relevant(contract, criterion) for contract in contracts]
        if any(truth) and not all(truth):
            baseline = bm25_scores(criterion["criterion"], texts)
            tally["ap"][index].append(average_precision_score(truth, scores[index]))
            tally["bm25"][index].append(average_precision_score(truth, baseline))
            # what ranking by the criterion's clause type alone would give: the classifier's part
            type_only = confidence[criterion["category"]]
            tally["type_only"][index].append(average_precision_score(truth, type_only))


def report(tally: dict, criteria: Sequence[dict[str, str]]) -> None:
    f1s, evidence_shares = [], []
    print(f"{'category':36s} {'n':>4s} {'P':>5s} {'R':>5s} {'F1':>5s} {'P@80R':>6s} {'evid':>5s}")
    for category in CATEGORIES:
        row = tally["items"][category.name]
        truth, found = np.array(row["truth"]), np.array(row["found"])
        hits = (truth & found).sum()
        precision = hits / found.sum() if found.sum() else 0.0
        recall = hits / truth.sum() if truth.sum() else 0.0
        f1 = 2 * hits / (found.sum() + truth.sum()) if truth.sum() else 0.0
        evidence = float(np.mean(row["evidence"])) if row["evidence"] else 0.0
        at80 = precision_at_recall(truth, row["confidence"]) if 0 < truth.sum() < len(truth) else 1.0
        f1s.append(f1)
        evidence_shares.extend(row["evidence"])
        print(
            f"{category.name:36s} {truth.sum():4d} {precision:5.2f} {recall:5.2f} {f1:5.2f} {at80:6.2f} "
            f"{evidence:5.2f}"
        )
    print(
        f"auditor macro-F1 {np.mean(f1s):.3f}; evidence overlaps the clause in {np.mean(evidence_shares):.3f}"
    )
    print(f"\n{'criterion':70s} {'AP':>5s} {'BM25':>5s} {'type':>5s}")
    ours, baseline, typed = [], [], []
    for index, criterion in enumerate(criteria):
        if tally["ap"][index]:
            ap, bm = float(np.mean(tally["ap"][index])), float(np.mean(tally["bm25"][index]))
            by_type = float(np.mean(tally["type_only"][index]))
            ours.append(ap)
            baseline.append(bm)
            typed.append(by_type)
            print(f"{criterion['criterion'][:70]:70s} {ap:5.2f} {bm:5.2f} {by_type:5.2f}")
    print(
        f"scorer mean AP {np.mean(ours):.3f}; BM25 over windows {np.mean(baseline):.3f}; "
        f"the criterion's clause type alone, ranked by the classifier {np.mean(typed):.3f}"
    )
    audit, score = tally["audit_seconds"], tally["score_seconds"]
    print(
        f"\naudit per contract: median {1000 * statistics.median(audit):.0f} ms, largest contract "
        f"{1000 * tally['largest_seconds']:.0f} ms; scoring per contract per criterion: median "
        f"{1000 * statistics.median(score):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-folds", type=int, default=0, help="stop after this many folds (0: all)")
    parser.add_argument(
        "--models", type=Path, help="keep each fold's model here, and use it again (while tuning rules)"
    )
    arguments = parser.parse_args()
    categories, contracts = load(arguments.dataset)
    criteria = json.loads(CRITERIA.read_text())["criteria"]
    tally: dict[str, Any] = {
        "items": defaultdict(lambda: defaultdict(list)),
        "ap": defaultdict(list),
        "bm25": defaultdict(list),
        "type_only": defaultdict(list),
        "audit_seconds": [],
        "score_seconds": [],
    }
    splitter = KFold(arguments.folds, shuffle=True, random_state=arguments.seed)
    for fold, (train_rows, test_rows) in enumerate(splitter.split(contracts)):
        if arguments.only_folds and fold >= arguments.only_folds:
            break
        started = time.perf_counter()
        cached = (
            arguments.models / f"fold-{arguments.folds}-{arguments.seed}-{fold}.npz"
            if arguments.models
            else None
        )
        if cached and cached.exists():
            model = ClauseModel.load(cached)
        else:
            model = train([contracts[i] for i in train_rows], categories, seed=arguments.seed)
            if cached:
                model.save(cached)
        trained = time.perf_counter()
        evaluate_fold(model, [contracts[i] for i in test_rows], criteria, tally)
        print(
            f"fold {fold}: trained in {trained - started:.0f} s, evaluated {len(test_rows)} contracts in "
            f"{time.perf_counter() - trained:.0f} s",
            flush=True,
        )
    largest = max(contracts, key=lambda contract: len(contract["text"]))
    checks = parse_checklist([*CUAD_ITEMS, *(check.item for check in DEFAULT_CHECKLIST)])
    started = time.perf_counter()
    audit_contract(largest["text"], checks, model=model)
    tally["largest_seconds"] = time.perf_counter() - started
    report(tally, criteria)


if __name__ == "__main__":
    main()
