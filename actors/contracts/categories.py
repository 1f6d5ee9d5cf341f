"""The CUAD clause categories as checklist items and as the subjects of criteria.

Each of the 41 categories of CUAD v1 (The Atticus Project, CC BY 4.0) is a built-in checklist
item under its CUAD name in lower case ("audit rights", "most favored nation", "rofr/rofo/rofn"),
found by the learned classifier (``classifier.py``). Each has what it means in words, used for
the reason given when a contract lacks it, and the other names reviewers give it.

A criterion a user types ("A party may audit the other's books") is about the category the
classifier reads it as most strongly (a criterion is phrased like the clause it asks for), helped
by the words it shares with the category's names and meaning; ``topic()`` says which, or None
for a criterion about something no category covers, which the scorer then reads word by word.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .classifier import ClauseModel
from .clauses import terms


@dataclass(frozen=True, slots=True)
class Category:
    name: str  # the CUAD name
    meaning: str  # "a party's right to audit the other's books": ends "No clause gives …"
    aliases: tuple[str, ...] = ()

    @property
    def item(self) -> str:
        return self.name.lower()


CATEGORIES = (
    Category("Document Name", "the name of the contract", ("title",)),
    Category("Parties", "the parties to the contract"),
    Category("Agreement Date", "the date of the contract"),
    Category("Effective Date", "the date the contract takes effect", ("commencement date",)),
    Category("Expiration Date", "when the initial term ends", ("term", "initial term")),
    Category(
        "Renewal Term",
        "a renewal term after the initial term",
        ("renewal", "auto-renewal term", "automatic renewal"),
    ),
    Category(
        "Notice Period To Terminate Renewal",
        "a notice period to stop the contract renewing",
        ("non-renewal notice",),
    ),
    Category("Governing Law", "the law that governs the contract", ("choice of law", "applicable law")),
    Category(
        "Most Favored Nation",
        "a promise of terms as good as those given to any other party",
        ("mfn", "most favoured nation", "most favored customer"),
    ),
    Category(
        "Competitive Restriction Exception",
        "an exception to a non-compete, exclusivity or no-solicit restriction",
    ),
    Category("Non-Compete", "a restriction on competing", ("noncompete", "non-competition")),
    Category("Exclusivity", "an exclusive dealing commitment", ("exclusive dealing",)),
    Category(
        "No-Solicit Of Customers",
        "a ban on soliciting the other party's customers",
        ("non-solicitation of customers",),
    ),
    Category(
        "No-Solicit Of Employees",
        "a ban on soliciting or hiring the other party's employees",
        ("non-solicitation of employees", "no-hire"),
    ),
    Category("Non-Disparagement", "a ban on disparaging the other party", ("no disparagement",)),
    Category(
        "Termination For Convenience",
        "a right to terminate without cause",
        ("termination without cause", "termination at will"),
    ),
    Category(
        "Rofr/Rofo/Rofn",
        "a right of first refusal, offer or negotiation",
        ("right of first refusal", "right of first offer", "right of first negotiation"),
    ),
    Category("Change Of Control", "terms that apply on a change of control", ("change in control",)),
    Category(
        "Anti-Assignment",
        "a need for consent or notice before assigning the contract",
        ("assignment restriction", "no assignment"),
    ),
    Category("Revenue/Profit Sharing", "a share of revenue or profit", ("royalties", "revenue sharing")),
    Category(
        "Price Restrictions", "a restriction on raising or lowering prices", ("price cap", "price increase")
    ),
    Category(
        "Minimum Commitment", "a minimum order, purchase or sales amount", ("minimum purchase", "take or pay")
    ),
    Category("Volume Restriction", "a limit or threshold on volume or usage", ("usage limit",)),
    Category(
        "Ip Ownership Assignment",
        "intellectual property assigned to a party",
        ("ip assignment", "ip ownership", "assignment of ip"),
    ),
    Category("Joint Ip Ownership", "intellectual property owned jointly", ("joint ownership",)),
    Category("License Grant", "a license granted", ("licence grant", "license")),
    Category(
        "Non-Transferable License",
        "a limit on transferring a license",
        ("non-transferable licence", "non-transferable"),
    ),
    Category("Affiliate License-Licensor", "a license granted by the licensor's affiliates"),
    Category("Affiliate License-Licensee", "a license extended to the licensee's affiliates"),
    Category(
        "Unlimited/All-You-Can-Eat-License",
        "a license of unlimited use",
        ("unlimited license", "all-you-can-eat license", "enterprise license"),
    ),
    Category(
        "Irrevocable Or Perpetual License",
        "a license that is irrevocable or perpetual",
        ("perpetual license", "irrevocable license"),
    ),
    Category("Source Code Escrow", "source code deposited in escrow", ("escrow",)),
    Category(
        "Post-Termination Services",
        "obligations that continue after termination",
        ("transition services", "wind down"),
    ),
    Category("Audit Rights", "a right to audit the other party's books or records", ("audit", "inspection")),
    Category(
        "Uncapped Liability",
        "liability left uncapped",
        ("unlimited liability exposure", "no liability cap", "liability not limited"),
    ),
    Category(
        "Cap On Liability",
        "a cap on liability",
        ("liability cap", "limitation of liability cap", "limit on liability"),
    ),
    Category("Liquidated Damages", "liquidated damages or a termination fee", ("termination fee",)),
    Category("Warranty Duration", "how long a warranty lasts", ("warranty period",)),
    Category("Insurance", "insurance a party must carry", ("insurance requirements",)),
    Category("Covenant Not To Sue", "a promise not to sue or challenge", ("no challenge",)),
    Category(
        "Third Party Beneficiary",
        "a third party that may enforce the contract",
        ("third-party beneficiary", "third party beneficiaries"),
    ),
)

BY_NAME = {name: category for category in CATEGORIES for name in (category.item, *category.aliases)}


def category(name: str) -> Category | None:
    """The category a checklist item names, by its CUAD name or another name for it."""
    return BY_NAME.get(" ".join(name.lower().split()))


#: What a criterion's words, shared with a category's name, meaning and other names, add to how
#: strongly the classifier reads the criterion as that category (all of its words shared: this much).
NAMED_BONUS = 1.0
#: The least a criterion must read as its category, bonus included, to be about it.
TOPIC_FLOOR = -0.25


def topic(text: str, model: ClauseModel, *, words: set[str] | None = None) -> Category | None:
    """The category a criterion is about, if any: by name ("audit rights"), or the one the
    classifier reads it as most strongly, helped by the words it shares with the category's names
    (``words``: the criterion's terms, its quantities and their bounds left out)."""
    named = category(text)
    if named is not None:
        return named
    words = set(terms(text)) if words is None else words
    if not words:
        return None
    scores = model.scores([text])[0].copy()
    for index, name in enumerate(model.categories):
        found = category(name)
        if found is not None:
            scores[index] += NAMED_BONUS * len(words & _vocabulary(found)) / len(words)
    best = int(np.argmax(scores))
    return category(model.categories[best]) if scores[best] >= TOPIC_FLOOR else None


#: Words every criterion may use of the contract itself: they say nothing of its type.
_GENERIC = frozenset(terms("contract agreement"))


@functools.cache
def _vocabulary(found: Category) -> frozenset[str]:
    return frozenset(terms(" ".join((found.name, found.meaning, *found.aliases)))) - _GENERIC
