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
from collections.abc import Collection, Sequence

from .polarity import sentences

_STOP_WORD_TEXT = """
a an and any are as at be been by can do does for from had has have if in into is it its may must
no not of on or other our shall should so such than that the their them then there these they
this those to under upon was we were what when where which while who will with within without
would you your all also each every herein hereof hereto thereof hereunder
after before during following prior per
other's others another s
"""
#: Words that carry no subject: never terms. "other's" is the other party ("audit the other's
#: books"), and "s" what is left of a possessive written with a curly apostrophe (other\u2019s).
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
        # a contract "construed in accordance with the laws of" a place is governed by them
        (
            r"\b(?:constru|interpret|enforc|subject\s+to)\w*\b[^.;]{0,60}?\blaws?\s+of\b"
            r"|\blaws?\s+of\s+[^.;]{0,50}?\bshall\s+(?:apply|govern|control)\b",
            "govern",
        ),
        # a term that "is extended" or "shall be renewed" is renewed, whichever verb says so
        (r"\b(?:is|are|be)\s+(?:automatically\s+)?(?:extended|renewed)\b|\bevergreen\b", "renew"),
        (r"\bevergreen\b|\btacit(?:ly)?\s+renew", "automat"),
    ]
)

#: Where a concept's word means something else: its occurrences inside a match are not the concept
#: ("for convenience of reference" is no termination for convenience, "freight insurance" no cover).
OTHER_SENSES = tuple(
    (re.compile(pattern, re.IGNORECASE), concept)
    for pattern, concept in [
        (
            r"\b(?:headings?|captions?)\b[^.;]{0,120}?\bconvenience\b"
            r"|\bconvenience\s+(?:of\s+reference|only|cop(?:y|ies)|translation)\b|\bfor\s+the\s+convenience\s+of\b",
            "conveni",
        ),
        (
            r"\b(?:freight|shipping|transit|carriage|cargo)(?:\s*,|\s+and)?\s+insurance\b"
            r"|\binsurance\s+(?:and|,)\s*(?:freight|shipping|carriage)\b",
            "insur",
        ),
    ]
)

#: What a sentence says without the criterion's word for it: a term extended or renewed "unless"
#: a party ends it renews automatically; a party that may terminate on notice, for no cause the
#: sentence names, may terminate for convenience. Each adds its concept where the match starts.
IMPLIED = tuple(
    (re.compile(pattern, re.IGNORECASE), re.compile(unless, re.IGNORECASE) if unless else None, concept)
    for pattern, unless, concept in [
        (r"\b(?:extend|renew|continue)\w*\b[^.;]{0,120}?\bunless\b", "", "automat"),
        (
            r"\bcontinue\w*\s+(?:in\s+(?:full\s+)?force\s+)?(?:[\w\s]{0,30}?)until\s+terminated\b",
            "",
            "automat",
        ),
        (
            r"\bterminat\w*\b[^.;]{0,80}?\bnotice\b",
            # a cause, a condition, or the end of the term (notice not to renew) is no convenience
            r"\b(?:breach\w*|default\w*|insolven\w*|bankrupt\w*|fail\w*|if|in\s+the\s+event|where|should|"
            r"force\s+majeure|change\s+of\s+control|expir\w*|renew\w*|end\s+of\s+the|(?<!without\s)cause)\b",
            "conveni",
        ),
    ]
)


def in_sense(text: str, found: Sequence[tuple[str, int]], wanted: Collection[str]) -> list[tuple[str, int]]:
    """A passage's terms (``found``: each with its offset in ``text``) read in their sense: without
    those ``OTHER_SENSES`` rules out, with those ``IMPLIED`` adds (each read on one sentence). Only
    the ``wanted`` concepts' rules are run: the rest change nothing the caller counts."""
    ruled_out = [
        (match.start(), match.end(), concept)
        for pattern, concept in OTHER_SENSES
        if concept in wanted
        for match in pattern.finditer(text)
    ]
    kept = [
        (term, offset)
        for term, offset in found
        if not any(concept == term and start <= offset < end for start, end, concept in ruled_out)
    ]
    rules = [(pattern, unless, concept) for pattern, unless, concept in IMPLIED if concept in wanted]
    for start, end in sentences(text) if rules else []:
        sentence = text[start:end]
        for pattern, unless, concept in rules:
            match = pattern.search(sentence)
            if match and not (unless and unless.search(sentence)):
                kept.append((concept, start + match.start()))
    return sorted(kept, key=lambda pair: pair[1])
