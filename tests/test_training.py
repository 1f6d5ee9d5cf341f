"""The training script builds a model the auditor can use, the same one for the same data and seed.

CI has no CUAD: the contracts here are a handful written for the test, with the character spans
of two clause types marked the way CUAD marks them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from actors.contracts.audit import LearnedItem, audit_contract
from actors.contracts.categories import category
from actors.contracts.classifier import ClauseModel
from tests.evaluation.train_model import train

AUDIT = (
    "The {who} may audit the {whom}'s books and records once in each calendar year on {days} days' notice."
)
ESCROW = "The {who} shall deposit the source code of the Software with the escrow agent within {days} days."
FILLER = [
    "The {who} shall deliver the Products to the {whom}'s warehouse in {days} business days.",
    "Each party shall bear its own costs of negotiating this Agreement, and the {who} shall pay the {whom}.",
    "Notices shall be in writing and sent to the {whom} at the address above within {days} days.",
    "The {who} shall provide support by telephone during normal business hours on {days} days a week.",
]
PARTIES = [("Licensee", "Licensor"), ("Customer", "Supplier"), ("Buyer", "Seller"), ("Client", "Vendor")]


def _contract(number: int) -> dict:
    who, whom = PARTIES[number % len(PARTIES)]
    values = {"who": who, "whom": whom, "days": 10 + number}
    passages = [line.format(**values) for line in FILLER]
    spans: dict[str, list[list[int]]] = {"Audit Rights": [], "Source Code Escrow": []}
    if number % 2 == 0:
        passages.insert(number % 3, AUDIT.format(**values))
    if number % 3 == 0:
        passages.insert(1, ESCROW.format(**values))
    text = "\n\n".join(f"{index + 1}. {passage}" for index, passage in enumerate(passages))
    for name, template in (("Audit Rights", AUDIT), ("Source Code Escrow", ESCROW)):
        sentence = template.format(**values)
        if sentence in text:
            start = text.index(sentence)
            spans[name].append([start, start + len(sentence)])
    return {"title": f"contract {number}", "text": text, "spans": spans}


def test_a_model_trained_on_marked_contracts_finds_their_clause_types(tmp_path: Path) -> None:
    contracts = [_contract(number) for number in range(24)]
    model = train(contracts, ["Audit Rights", "Source Code Escrow"], seed=0)
    model.save(tmp_path / "model.npz")
    loaded = ClauseModel.load(tmp_path / "model.npz")
    assert loaded.categories == ("Audit Rights", "Source Code Escrow")

    unseen = _contract(30)  # has both clauses; 31 has neither
    checks = [
        LearnedItem("audit rights", category("audit rights")),
        LearnedItem("escrow", category("escrow")),
    ]
    found = audit_contract(unseen["text"], checks, model=loaded)["items"]
    assert [item["found"] for item in found] == [True, True]
    assert "books and records" in found[0]["evidence"] and "escrow agent" in found[1]["evidence"]
    absent = audit_contract(_contract(31)["text"], checks, model=loaded)["items"]
    assert [item["found"] for item in absent] == [False, False]


def test_the_same_data_and_seed_give_the_same_model() -> None:
    contracts = [_contract(number) for number in range(12)]
    first, second = (train(contracts, ["Audit Rights", "Source Code Escrow"], seed=3) for _ in range(2))
    assert first.vocabulary == second.vocabulary
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.threshold, second.threshold)
