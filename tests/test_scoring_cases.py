"""The offline scorer's verdicts and reasons on the red team's findings, one hand-written case each.

Each case is a short clause or contract written for this file (no dataset text), and each failed on
the scorer before it was fixed: filler words that outweighed the subject, a "meets" that ignored
the place or the party the criterion names, synonyms read in the wrong sense, a "No clause
mentions …" that was false of the contract, a consent requirement read as a denial (and a
permission without consent read as one), English law read as foreign to England and Wales, and an
extension "unless terminated" not read as an automatic renewal.
"""

from __future__ import annotations

from actors.contracts.scoring import Contract, ContractScorer, ScoredContract, Verdict

LEASE_TERMS = "1. Term. This Lease runs for five years from the Commencement Date."


def _score(criterion: str, text: str) -> ScoredContract:
    return ContractScorer(criterion, 100).score(Contract("d1", "a.txt", text))


# 1. Filler words weigh most ----------------------------------------------------------------------


def test_a_possessive_filler_word_does_not_outweigh_the_subject() -> None:
    criterion = "A party may audit the other's books and records"
    with_audit = (
        "1. Term. This Agreement lasts two years.\n\n"
        "9. Records. The Distributor shall keep complete and accurate records of all sales, and the "
        "Company may inspect and audit those records once in each calendar year."
    )
    without = "1. Term. This Agreement lasts two years.\n\n9. Price. The Distributor pays the list price."
    audited, other = _score(criterion, with_audit), _score(criterion, without)
    assert audited.verdict is not Verdict.NOT_MENTIONED
    assert audited.score > other.score
    assert "other's" not in audited.reason


# 2. "meets" checks what the criterion names ------------------------------------------------------


def test_the_law_of_another_state_does_not_meet_a_named_jurisdiction() -> None:
    scored = _score(
        "Governed by the laws of New York",
        "This Agreement shall be governed by and construed in accordance with the laws of the State of "
        "New Jersey, without regard to its conflict of laws principles.",
    )
    assert scored.verdict is Verdict.DOES_NOT_MEET
    assert "New Jersey" in scored.reason and "New York" in scored.reason


def test_a_stock_exchange_named_after_a_place_is_no_jurisdiction() -> None:
    scored = _score(
        "Governed by the laws of New York",
        "The Company shall comply with all applicable laws and the listing rules of the New York Stock "
        "Exchange.",
    )
    assert scored.verdict is not Verdict.MEETS


def test_a_right_given_to_the_other_party_does_not_meet() -> None:
    scored = _score(
        "The supplier may subcontract the services",
        "The Customer may subcontract any of its obligations under this Agreement.",
    )
    assert scored.verdict is Verdict.DOES_NOT_MEET
    assert "Customer" in scored.reason


# 3. Synonyms are read in their sense -------------------------------------------------------------


def test_headings_for_convenience_are_no_termination_for_convenience() -> None:
    scored = _score(
        "A party may terminate the agreement for convenience",
        "Clause headings are used in this Agreement for convenience of reference only.",
    )
    assert scored.verdict is Verdict.NOT_MENTIONED


def test_freight_insurance_is_no_insurance_cover() -> None:
    scored = _score(
        "A party must maintain insurance", "The Buyer shall pay the freight insurance on every shipment."
    )
    assert scored.verdict is not Verdict.MEETS


# 4. A reason is true of the contract -------------------------------------------------------------


def test_a_clause_that_mentions_part_of_the_criterion_is_not_said_to_mention_none_of_it() -> None:
    lease = (
        LEASE_TERMS
        + "\n\n14. Termination. Either party may terminate this Lease on six months' written notice."
    )
    scored = _score("Either party may terminate for convenience on 30 days' notice", lease)
    assert scored.verdict is not Verdict.MEETS
    assert not scored.reason.startswith("No clause mentions")
    assert "six months" in scored.reason and "30 days" in scored.reason
    assert any("six months" in str(evidence["text"]) for evidence in scored.evidence)


def test_no_clause_mentions_is_said_when_none_does() -> None:
    scored = _score("Either party may terminate for convenience on 30 days' notice", LEASE_TERMS)
    assert scored.verdict is Verdict.NOT_MENTIONED and scored.reason.startswith("No clause")


# 5. A consent requirement is not a denial; a permission without consent is no requirement --------


def test_may_not_assign_without_consent_meets_assignment_requires_consent() -> None:
    scored = _score(
        "Assignment requires the other party's consent",
        "Neither party may assign this Agreement without the prior written consent of the other party.",
    )
    assert scored.verdict is Verdict.MEETS


def test_an_assignment_free_of_consent_does_not_meet_a_consent_requirement() -> None:
    scored = _score(
        "Assignment requires the other party's consent",
        "The Supplier may assign this Agreement to any of its affiliates without notice.",
    )
    assert scored.verdict is not Verdict.MEETS


# 6. Names of one jurisdiction ---------------------------------------------------------------------


def test_english_law_is_the_law_of_england_and_wales() -> None:
    scored = _score("Governed by the laws of England and Wales", "This Agreement is governed by English law.")
    assert scored.verdict is Verdict.MEETS


# 7. An extension unless terminated is an automatic renewal ---------------------------------------


def test_a_term_extended_unless_terminated_renews_automatically() -> None:
    scored = _score(
        "The contract renews automatically",
        "At the end of the Initial Term the term is extended by twelve months unless terminated by either "
        "party on ninety days' notice.",
    )
    assert scored.verdict is Verdict.MEETS
