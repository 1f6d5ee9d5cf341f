"""The offline scorer reads clauses, not clause numbers: quantities with their units and bounds,
denials, exceptions, and the same score for the same contract wherever it is stored."""

from __future__ import annotations

import random

import pytest

from actors.contracts.quantities import Bound, quantities
from actors.contracts.scoring import Contract, ContractScorer, Verdict

CRITERION = "Invoices are paid within 30 days"
CONTRACTS = {
    "msa.md": "MASTER SERVICES AGREEMENT\n\n1. Services. The Supplier provides the Services.\n\n"
    "4. Payment. The Customer shall pay each invoice within fourteen (14) days of receipt.",
    "supply.md": "7. Fees. Invoices are payable within 45 days of the invoice date.",
    "lease.md": "3.2 Rent. Each invoice for rent is due within 60 days of the invoice date.",
    "licence.md": "9. Payment. The Licensee shall pay each invoice no later than 30 days after receipt.",
}
FILLER_WORDS = [
    "agreement",
    "party",
    "invoice",
    "pay",
    "payment",
    "fees",
    "services",
    "term",
    "notice",
    "written",
    "law",
    "clause",
]


def _filler(seed: int) -> str:
    """A document of contract words: numbered clauses (one numbered 30) that state no period."""
    pick = random.Random(seed)
    return "\n\n".join(
        f"{number}. " + " ".join(pick.choice(FILLER_WORDS) for _ in range(12)).capitalize() + "."
        for number in (28, 29, 30, 31)
    )


def _score(criterion: str, text: str) -> tuple[Verdict, float, str]:
    scored = ContractScorer(criterion, 100).score(Contract("doc", "doc.md", text))
    return scored.verdict, scored.score, scored.reason


def test_the_clause_that_meets_the_period_ranks_first_and_fillers_score_nothing() -> None:
    documents = {**CONTRACTS, **{f"filler-{n}.md": _filler(n) for n in range(10)}}
    scorer = ContractScorer(CRITERION, 10)
    scores = {name: scorer.score(Contract(name, name, text)) for name, text in documents.items()}
    ranking = sorted(scores, key=lambda name: -scores[name].score)
    assert ranking[0] == "msa.md" and scores["msa.md"].verdict is Verdict.MEETS
    assert scores["licence.md"].verdict is Verdict.MEETS  # "no later than 30 days" is within 30 days
    assert all(scores[f"filler-{n}.md"].score == 0 for n in range(10))
    for late in ("supply.md", "lease.md"):
        assert (
            scores[late].verdict is Verdict.DOES_NOT_MEET and 0 < scores[late].score < scores["msa.md"].score
        )
    evidence = scores["msa.md"].evidence[0]
    assert evidence["text"].startswith("4. Payment.")
    assert documents["msa.md"][evidence["start"] : evidence["end"]].endswith("days of receipt.")
    assert (
        "within fourteen (14) days" in scores["msa.md"].reason and "within 30 days" in scores["msa.md"].reason
    )
    assert "45 days" in scores["supply.md"].reason


@pytest.mark.parametrize(
    ("criterion", "clause", "verdict"),
    [
        (
            "Notice of at least 30 days",
            "Either party may give notice of not less than sixty (60) days.",
            "meets",
        ),
        ("Notice of at least 30 days", "Either party may give two weeks' notice.", "does_not_meet"),
        (
            "Late interest is no more than 2% per month",
            "Late payments bear interest at 8% per annum.",
            "meets",
        ),
        (
            "Late interest is no more than 2% per month",
            "Late payments bear interest at 3% per month.",
            "does_not_meet",
        ),
        (
            "Insurance cover of at least £5,000,000",
            "The Supplier shall maintain insurance cover of £10 million.",
            "meets",
        ),
        (
            "Insurance cover of at least £5,000,000",
            "The Supplier shall maintain insurance cover of £2,000,000.",
            "does_not_meet",
        ),
        ("Delivery not later than 10 business days", "Delivery shall take place within two weeks.", "meets"),
        ("Invoices are paid within 30 days", "Invoices are paid within one month.", "meets"),
        ("Invoices are paid within 30 days", "Invoices are paid promptly.", "does_not_meet"),
    ],
)
def test_quantities_are_judged_by_their_bound_and_unit(criterion: str, clause: str, verdict: str) -> None:
    assert _score(criterion, clause)[0].value == verdict


def test_a_denial_or_a_discretion_takes_the_promise_away_and_an_exception_lowers_it() -> None:
    criterion = "The supplier may subcontract the services"
    assert _score(criterion, "The Supplier may subcontract the Services.")[0] is Verdict.MEETS
    denied = _score(criterion, "The Supplier shall not subcontract the Services.")
    assert denied[0] is Verdict.DOES_NOT_MEET and "shall not" in denied[2]
    full = _score(CRITERION, "Invoices are paid within 30 days.")
    narrowed = _score(CRITERION, "Invoices are paid within 30 days, except amounts disputed in good faith.")
    assert narrowed[0] is Verdict.MEETS and narrowed[1] < full[1] and "exception" in narrowed[2]
    swallowed = _score(CRITERION, "Invoices are paid within 30 days unless the Customer decides otherwise.")
    assert swallowed[0] is Verdict.DOES_NOT_MEET


def test_numbering_headings_and_cross_references_are_not_terms() -> None:
    text = "PAYMENT TERMS\n\n30. Invoices. Subject to clause 30.2, the parties meet monthly."
    verdict, score, reason = _score("Invoices are paid within 30 days", text)
    assert (verdict, score) == (Verdict.NOT_MENTIONED, 0.0)
    assert reason.startswith("No clause mentions")


def test_quantities_read_words_digits_and_bounds() -> None:
    [period] = quantities("payable no later than thirty (30) days after the invoice date")
    assert (period.kind, period.value, period.bound) == ("period", 30, Bound.AT_MOST)
    [money] = quantities("cover of not less than US$2.5 million")
    assert (money.value, money.currency, money.bound) == (2_500_000, "USD", Bound.AT_LEAST)
    assert quantities("clause 30 of the 2024 schedule") == []
