"""The offline auditor's built-in checks on whole contracts: each quotes the clause about its subject.

One case per false hit a red team measured on real contracts: the first clause that matched
used to win, and it was a table of contents, a severability sentence about "a court of competent
jurisdiction", the parties' paragraph ("organized under the laws of the State of Delaware"), or
"governed by" in another sense. The texts are written for these tests. Then what a passage of a
contract is (``structure.py``), which is how the auditor tells those passages from clauses.
"""

from __future__ import annotations

import time
from typing import Any

from actors.contracts.audit import audit_contract, parse_checklist
from actors.contracts.clauses import split_clauses
from actors.contracts.structure import Kind, heading_of, kind_of, kinds

TABLE_OF_CONTENTS = """TABLE OF CONTENTS

Section 1.01 Definitions 1
Section 2.01 Supply of Products 4
Section 9.02 Limitation of Liability 14
Section 12.01 Governing Law 19
Section 12.02 Jurisdiction 19
Section 12.03 Notices 20
"""

PARTIES = """MANUFACTURING AND SUPPLY AGREEMENT

THIS MANUFACTURING AND SUPPLY AGREEMENT (this "Agreement") is made and entered into as of March 3,
2021 (the "Effective Date") by and between Halvorsen Biologics Inc., a corporation organized under
the laws of the State of Delaware ("Customer"), and Tamsin Fill Finish LLC, a limited liability
company organized under the laws of the State of Ohio ("Supplier").

WHEREAS, Customer wishes to have Supplier manufacture the Products on the terms set out below.
"""

SUPPLY = """2.01 Supply. Supplier shall manufacture and supply the Products to Customer in accordance with
the Specifications and each Purchase Order accepted under this Agreement.

2.02 Acceptance. Acceptance of the Products is governed by adherence to the Quality Plan and by the
release testing described in Schedule B.
"""

SEVERABILITY = """11.04 Severability. If any provision of this Agreement is determined by a court of competent
jurisdiction to be invalid or unenforceable, the remaining provisions shall continue in full force.
"""

GOVERNING_LAW = (
    "This Agreement shall be governed by and construed in accordance with the laws of the State of "
    "New York, without regard to its conflict of laws principles"
)
CHOICE_OF_LAW = f"""12.01 Governing Law. {GOVERNING_LAW}.

12.02 Jurisdiction. Each party submits to the exclusive jurisdiction of the state and federal courts
located in the Borough of Manhattan, New York.
"""


def _audit(text: str, *items: str) -> dict[str, Any]:
    return audit_contract(text, parse_checklist(list(items)))


def _item(text: str, name: str) -> dict[str, Any]:
    [item] = _audit(text, name)["items"]
    assert item["found"], item
    return item


def _quotes(text: str, item: dict[str, Any], words: str) -> None:
    """The item's evidence, and the passage its offsets point at, hold ``words``."""
    passage = " ".join(text[item["start"] : item["end"]].split())
    assert words in " ".join(item["evidence"].split()), item
    assert words in passage, passage


# -- 1. governing law: the governing-law clause, not the first clause that matches ----------------


def test_governing_law_is_not_quoted_from_the_table_of_contents() -> None:
    text = TABLE_OF_CONTENTS + "\n" + SUPPLY + "\n" + CHOICE_OF_LAW
    _quotes(text, _item(text, "governing law and venue"), GOVERNING_LAW)


def test_a_court_of_competent_jurisdiction_in_a_severability_clause_is_no_venue() -> None:
    text = SEVERABILITY + "\n" + CHOICE_OF_LAW
    _quotes(text, _item(text, "governing law and venue"), GOVERNING_LAW)


def test_severability_alone_states_no_governing_law() -> None:
    [item] = _audit(SEVERABILITY, "governing law and venue")["items"]
    assert not item["found"], item


def test_the_parties_organized_under_the_laws_of_a_state_is_no_choice_of_law() -> None:
    text = PARTIES + "\n" + CHOICE_OF_LAW
    _quotes(text, _item(text, "governing law and venue"), GOVERNING_LAW)


def test_governed_by_in_another_sense_is_no_choice_of_law() -> None:
    text = SUPPLY + "\n" + CHOICE_OF_LAW
    _quotes(text, _item(text, "governing law and venue"), GOVERNING_LAW)


def test_a_whole_contract_quotes_its_governing_law_clause() -> None:
    text = "\n".join([PARTIES, TABLE_OF_CONTENTS, SUPPLY, SEVERABILITY, CHOICE_OF_LAW])
    _quotes(text, _item(text, "governing law and venue"), GOVERNING_LAW)


def test_limitation_of_liability_is_not_quoted_from_the_table_of_contents() -> None:
    cap = (
        "Supplier's aggregate liability under this Agreement shall not exceed the fees paid by Customer "
        "in the twelve months before the claim"
    )
    text = f"{TABLE_OF_CONTENTS}\n{SUPPLY}\n9.02 Limitation of Liability. {cap}.\n"
    _quotes(text, _item(text, "limitation of liability"), cap)


# -- 2. "including, without limitation" leaves no liability unlimited -----------------------------


def test_including_without_limitation_is_not_unlimited_liability() -> None:
    text = (
        "8.1 Supplier shall be liable for any loss suffered by Customer as a result of a recall of the "
        "Products, including, without limitation, the costs of notifying customers and of destroying "
        "stock.\n\n8.2 Supplier's total liability under this Agreement shall not exceed $2,000,000.\n"
    )
    assert _audit(text, "termination")["risk_flags"] == []


def test_including_but_not_limited_to_is_not_unlimited_liability() -> None:
    text = (
        "7.3 Customer remains liable for all charges incurred under its account, including but not limited "
        "to charges for storage, freight and insurance.\n"
    )
    assert _audit(text, "termination")["risk_flags"] == []


def test_liability_that_is_not_limited_is_still_unlimited_liability() -> None:
    text = "9.4 Nothing in this Agreement limits the liability of either party, which shall be unlimited.\n"
    flags = [flag["item"] for flag in _audit(text, "termination")["risk_flags"]]
    assert "unlimited liability" in flags


# -- 3. "in no event will" limits liability as much as "in no event shall" ------------------------


def test_in_no_event_will_either_party_be_liable_is_a_limitation_of_liability() -> None:
    exclusion = (
        "IN NO EVENT WILL EITHER PARTY BE LIABLE TO THE OTHER FOR ANY LOST PROFITS OR FOR ANY INDIRECT, "
        "INCIDENTAL OR CONSEQUENTIAL DAMAGES ARISING OUT OF THIS AGREEMENT"
    )
    text = f"{SUPPLY}\n10.3 {exclusion}.\n"
    _quotes(text, _item(text, "limitation of liability"), exclusion)


# -- 4. a term "extended by twelve months unless terminated" renews automatically ------------------


def test_a_term_extended_unless_terminated_renews_automatically() -> None:
    renewal = (
        "At the end of the Initial Term the term is extended by twelve (12) months unless terminated by "
        "either party on ninety days' written notice before the end of the then current term"
    )
    text = f"{SUPPLY}\n14.1 Term. This Agreement starts on the Effective Date. {renewal}.\n"
    flags = {flag["item"]: flag for flag in _audit(text, "termination")["risk_flags"]}
    assert "automatic renewal" in flags, flags
    _quotes(text, flags["automatic renewal"], renewal)


def test_a_term_extended_only_by_agreement_does_not_renew_automatically() -> None:
    text = (
        "14.1 Term. This Agreement ends three years after the Effective Date. The parties may extend it "
        "by a further twelve months by written agreement signed by both of them.\n"
    )
    flags = [flag["item"] for flag in _audit(text, "termination")["risk_flags"]]
    assert "automatic renewal" not in flags


# -- what a passage is (structure.py) ----------------------------------------------------------


def _kinds(text: str) -> list[tuple[Kind, str]]:
    clauses = split_clauses(text)
    return list(zip(kinds(clauses), (clause.text for clause in clauses), strict=True))


def test_a_table_of_contents_is_no_clause() -> None:
    [(kind, _)] = _kinds(TABLE_OF_CONTENTS)
    assert kind is Kind.TABLE_OF_CONTENTS
    run_on = "Section 8.01 Governing Law 19 Section 8.02 Jurisdiction 19 Section 8.03 Notices 20"
    assert kind_of(split_clauses(run_on)[0]) is Kind.TABLE_OF_CONTENTS
    dotted = "7.1 Insurance ................ 12\n7.2 Indemnities ................ 13\n"
    assert [kind for kind, _ in _kinds(dotted)] == [Kind.TABLE_OF_CONTENTS]


def test_a_heading_standing_alone_is_no_clause() -> None:
    text = "15.13 Governing Law and Equitable Relief.\n\nThis Agreement is governed by the laws of Ohio.\n"
    assert [kind for kind, _ in _kinds(text)] == [Kind.HEADING, Kind.BODY]


def test_a_definition_is_no_clause() -> None:
    text = (
        "1.1 \u201cAffiliate\u201d means any entity that controls, is controlled by or is under common "
        "control with a party.\n\n'Territory' shall mean the United States of America and Canada.\n\n"
        "1.3 Applicable Law means every statute and regulation that binds a party.\n"
    )
    assert [kind for kind, _ in _kinds(text)] == [Kind.DEFINITIONS] * 3


def test_the_opening_is_the_preamble_and_the_same_words_later_are_body() -> None:
    text = PARTIES + "\nNOW, THEREFORE, the parties agree as follows:\n\n" + SUPPLY + "\n" + PARTIES
    found = _kinds(text)
    # The title and the parties, the recital, "agree as follows"; then the body.
    assert [kind for kind, _ in found[:3]] == [Kind.PREAMBLE] * 3, found[:3]
    assert {kind for kind, _ in found[3:]} == {Kind.BODY}, found[3:]


def test_a_clause_of_the_body_is_body() -> None:
    assert {kind for kind, _ in _kinds(SUPPLY + SEVERABILITY + CHOICE_OF_LAW)} == {Kind.BODY}


def test_heading_of_names_the_clause() -> None:
    clause = split_clauses("12.01 Governing Law. This Agreement is governed by the laws of Ohio.")[0]
    assert heading_of(clause).strip() == "12.01 Governing Law."
    assert heading_of(split_clauses("This Agreement is governed by the laws of Ohio.")[0]) == ""


def test_an_audit_of_a_300k_character_contract_stays_fast() -> None:
    sections = [
        f"{number}.1 Services. Supplier shall perform the Services described in Schedule {number} with "
        "reasonable skill and care, and Customer shall pay the Fees within thirty days of invoice."
        for number in range(1, 1720)
    ]
    text = "\n\n".join([PARTIES, TABLE_OF_CONTENTS, *sections, SEVERABILITY, CHOICE_OF_LAW])
    assert len(text) > 300_000
    started = time.perf_counter()
    result = audit_contract(text, parse_checklist(None))
    # About half a second on an idle machine, most of it splitting the clauses; the bound leaves room
    # for a busy one, and still fails at once if any step stops being linear in the contract's length.
    assert time.perf_counter() - started < 2.0
    [law] = [item for item in result["items"] if item["item"] == "governing law and venue"]
    _quotes(text, law, GOVERNING_LAW)
