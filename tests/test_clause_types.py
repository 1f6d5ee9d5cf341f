"""Every CUAD clause type is a checklist item, found by the learned classifier in contracts written
here by hand (not taken from CUAD): the right clause quoted, its reason true of the words quoted,
and never a table of contents entry or a definition where the clause itself is there."""

from __future__ import annotations

from actors.contracts.audit import audit_contract, parse_checklist
from actors.contracts.categories import CATEGORIES

CONTRACT = """DISTRIBUTION AGREEMENT

TABLE OF CONTENTS
Section 7.01 Audit Rights ........ 12
Section 7.02 Insurance ........ 13
Section 9.01 Governing Law ........ 19

THIS DISTRIBUTION AGREEMENT is made on 1 March 2024 between Northwind Tools, Inc., a Delaware
corporation ("Supplier"), and Harbour Retail Ltd, a company organized under the laws of England
("Distributor").

1. Definitions. "Territory" means the United Kingdom and Ireland.

2. Appointment. Supplier appoints Distributor as its exclusive distributor of the Products in the
Territory, and Supplier shall not appoint any other distributor in the Territory during the Term.

7.01 Audit Rights. Distributor shall keep complete and accurate books and records of its sales of
the Products. Supplier may, on fifteen days' notice and not more than once each calendar year,
inspect and audit those books and records during normal business hours.

7.02 Insurance. Distributor shall maintain, at its own cost, product liability insurance with a
limit of not less than $2,000,000 per occurrence and shall provide certificates of insurance on
request.

8. Most Favored Customer. If Supplier offers any other distributor prices more favorable than those
in this Agreement, Supplier shall offer the same prices to Distributor at once.

9.01 Governing Law. This Agreement shall be governed by and construed in accordance with the laws
of the State of New York, without regard to its conflict of laws principles.
"""

ASKED = ["audit rights", "insurance", "most favored nation", "exclusivity", "governing law"]


def _audit(text: str, items: list[str]) -> dict[str, dict]:
    return {item["item"]: item for item in audit_contract(text, parse_checklist(items))["items"]}


def test_every_cuad_category_is_a_built_in_item_by_its_cuad_name() -> None:
    names = [category.item for category in CATEGORIES]
    assert len(names) == 41 and "uncapped liability" in names and "source code escrow" in names
    found = _audit(CONTRACT, names)
    assert set(found) == set(names)
    assert all(set(item) >= {"found", "reason", "confidence"} for item in found.values())


def test_the_clause_itself_is_quoted_not_its_contents_entry() -> None:
    found = _audit(CONTRACT, ASKED)
    for item, words in {
        "audit rights": "inspect and audit those books",
        "insurance": "product liability insurance",
        "most favored nation": "prices more favorable",
        "exclusivity": "exclusive distributor",
        "governing law": "laws of the State of New York",
    }.items():
        assert found[item]["found"], item
        evidence = CONTRACT[found[item]["start"] : found[item]["end"]]
        assert words in " ".join(evidence.split()), (item, evidence)
        assert "....." not in evidence, item


def test_a_reason_quotes_words_of_the_clause_it_points_at() -> None:
    for item in _audit(CONTRACT, ASKED).values():
        quoted = item["reason"].split(': "', 1)[1].rstrip('"').rstrip("…")
        assert quoted in item["evidence"], item


def test_a_contract_without_the_clause_does_not_have_it() -> None:
    found = _audit(
        "SERVICES AGREEMENT\n\n1. Services. The Contractor shall paint the Client's offices in May.\n\n"
        "2. Payment. The Client shall pay the Contractor $4,000 within 30 days of invoice.",
        ["audit rights", "source code escrow", "non-compete", "most favored nation"],
    )
    assert not any(item["found"] for item in found.values()), found
    assert found["source code escrow"]["reason"] == "No clause found with source code deposited in escrow"
