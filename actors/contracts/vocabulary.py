"""The contract vocabulary: which words say nothing, and which say the same thing.

Contracts name one thing many ways: a supplier is also the "Contractor", "Vendor" or "Service
Provider"; a liability cap is a "limit", a "maximum" or what liability "shall not exceed";
"without cause" terminates "for convenience". The scorer and the auditor read every such word or
phrase as one *concept* (the stem of its most common name), so a clause is judged on what it
says, not on which synonym its drafter liked. The lists are general commercial-contract usage,
not tuned to any one document; a word that means other things too ("cover", "end") is only
mapped inside a phrase that fixes its sense.
"""

from __future__ import annotations

import re

_STOP_WORD_TEXT = """
a an and any are as at be been by can do does for from had has have if in into is it its may must
no not of on or other our shall should so such than that the their them then there these they
this those to under upon was we were what when where which while who will with within without
would you your all also each every herein hereof hereto thereof hereunder
after before during following prior per
"""
#: Words that carry no subject: never terms.
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())

#: Verbs a criterion uses to relate its subject to its quantity ("lasts", "requires", "carries"):
#: a clause says the same with other verbs, so they are no part of what a criterion is about.
LINKING_STEMS = frozenset(
    ["last", "requir", "carri", "ensur", "provid", "give", "make", "appli", "mean", "resolv", "achiev"]
)
#: Who a criterion speaks of ("The supplier may not …", "Either party may …"): the actor, not
#: the subject; the scorer compares the actors on their own (one party, or both alike).
PARTY_STEMS = frozenset(
    [
        *["supplier", "custom", "parti", "either", "both", "neither", "licensor", "license", "landlord"],
        *["tenant", "lender", "borrow", "employ", "contractor", "recipi", "disclos"],
    ]
)

#: Stems that name one concept, mapped to the concept's stem (after Snowball stemming).
SAME_AS = {
    # inflections the stemmer leaves apart
    "paid": "pay",
    "payment": "pay",
    "payabl": "pay",
    "liabil": "liabl",
    "subcontractor": "subcontract",
    "assigne": "assign",
    "notif": "notifi",
    "indemnifi": "indemn",
    "indemnif": "indemn",
    "deliveri": "deliv",
    "ownership": "own",
    "owner": "own",
    # the parties' usual names
    "contractor": "supplier",
    "vendor": "supplier",
    "seller": "supplier",
    "consult": "supplier",
    "client": "custom",
    "buyer": "custom",
    "purchas": "custom",
    # one thing, several words
    "uptim": "avail",
    "overdu": "late",
    "controversi": "disput",
    "approv": "consent",
    "permiss": "consent",
    "vest": "own",
    "charg": "price",
    "fee": "price",
    "rise": "increas",
    "uplift": "increas",
    "notic": "notifi",
    "continu": "surviv",
    "remain": "surviv",
    "limit": "cap",
    "maximum": "cap",
    "exceed": "cap",
    "cancel": "termin",
    "settl": "resolv",
}

#: Phrases that name a concept: each occurrence adds the concept's term where the phrase starts.
PHRASES = tuple(
    (re.compile(pattern, re.IGNORECASE), concept)
    for pattern, concept in [
        (r"\bintellectual\s+property\b", "ip"),
        (r"\bwork\s+product\b", "deliver"),
        (r"\bservice\s+provider\b|\bprovider\b", "supplier"),
        (
            r"\bwithout\s+cause\b|\bfor\s+any\s+reason\b|\bat\s+will\b|\bwithout\s+(?:giving\s+)?(?:a\s+)?reason\b",
            "conveni",
        ),
        (r"\bend\s+this\s+(?:agreement|contract|licen[cs]e)\b", "termin"),
        (r"\bsecurity\s+(?:incident|breach)\b", "breach"),
        (r"\b(?:professional\s+indemnity|liability|insurance)\s+cover\b", "insur"),
        (r"\b(?:each|every|per|a)\s+(?:contract\s+)?year\b|\byear\s+on\s+year\b|\bannually\b", "annual"),
        (r"\btitle\s+(?:to|in)\b|\bright,\s+title\s+and\s+interest\b", "own"),
        (r"\bthe\s+authority\b", "custom"),
        (r"\binform(?:s|ed)?\s+the\b", "notifi"),
        (r"\bpriority\s+(?:1|one)\b|\bseverity\s+(?:1|one)\b", "critic"),
    ]
)
