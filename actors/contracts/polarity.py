"""Whether a sentence says a thing or its opposite, and whether it carves an exception out of it.

"The Supplier shall not subcontract" says the opposite of "The Supplier may subcontract"; both
say the same as "Neither party may subcontract" of a criterion that forbids it. So polarity is
compared, not counted: a clause meets a criterion only when both deny or both affirm. Phrases
that look negative but bound a quantity ("no later than", "shall not exceed", "in no event more
than") or are mere courtesy ("consent not to be unreasonably withheld", "including but not
limited to") are not negations.

An exception ("except", "unless", "save that", "other than", "provided that") narrows what a
clause promises: it lowers the match. One that hands the promise back to a party's discretion
("unless the Supplier decides otherwise", "at its sole discretion") takes the promise away.
"""

from __future__ import annotations

import re

_NOT_NEGATIONS = re.compile(
    r"\b(?:no|not)\s+(?:more|less|later|earlier|fewer|longer|shorter|greater)\s+than\b"
    r"|\bnot\s+(?:to\s+)?exceed(?:ing)?\b|\bin\s+no\s+event\b|\bnot\s+limited\s+to\b"
    r"|\bnot\s+to\s+be\s+unreasonably\s+(?:withheld|delayed|conditioned)\b"
    r"|\b(?:whether|if)\s+or\s+not\b|\bno\s+later\b|\bnotwithstanding\b"
    r"|\bno\s+(?:[\w-]+\s+){0,3}(?:shall|will|may)\s+exceed\b",  # a cap: "no increase shall exceed 3%"
    re.IGNORECASE,
)
#: A denial binds a clause's verb ("shall not", "may not", "Neither party may", "No part … may");
#: a "not" inside a condition or a description ("if any sum is not paid", "equipment not
#: supplied by it") denies nothing the clause promises.
_NEGATION = re.compile(
    r"\b(?:shall|will|may|must|can|could|should|does|do|need)\s+not\b|\b(?:cannot|can't|won't|shan't)\b"
    r"|\b(?:neither|nor|never)\b|\bnot\s+(?:be\s+)?(?:entitled|permitted|allowed|authori[sz]ed)\b"
    r"|\b(?:is|are)\s+(?:prohibited|forbidden)\b|\bno\s+(?:[\w'\u2019-]+\s+){0,4}?(?:shall|will|may|must|is|are)\b"
    r"|\bnothing\b[^.;]{0,60}?\b(?:shall|will|may|obliges|requires)\b|\bnot\s+otherwise\b",
    re.IGNORECASE,
)
_EXCEPTION = re.compile(
    r"\b(?:except(?:\s+(?:for|that|as|where|in))?|unless|save\s+(?:that|for|as|where)|other\s+than|"
    r"excluding|with\s+the\s+exception\s+of|provided\s+(?:that|however)|but\s+not)\b",
    re.IGNORECASE,
)
_DISCRETION = re.compile(
    r"\bunless\s+(?:the\s+)?[A-Z]?\w+\s+(?:decides|elects|determines|considers|chooses|notifies|wishes)\b"
    r"|\b(?:at|in)\s+(?:its|their|the\s+\w+['\u2019]s)\s+(?:sole\s+|absolute\s+|own\s+)?discretion\b"
    r"|\bunless\s+otherwise\s+(?:decided|determined|notified)\s+by\b"
    r"|\b(?:as|where|if)\s+(?:it|the\s+\w+)\s+(?:reasonably\s+)?(?:considers|deems|determines|thinks|selects)\b"
    r"|\bas\s+determined\s+by\s+the\s+\w+"
    r"|\bor\s+(?:within\s+)?such\s+(?:longer|other|later)\s+(?:period|time|date)\b"
    r"|\bmay\b[\s,]+(?:[\w,]+\s+){0,8}?elect\b|\bat\s+its\s+(?:sole\s+)?option\b"
    r"|\bif\s+(?:they|the\s+parties)\s+(?:both\s+|so\s+)?agree\b",
    re.IGNORECASE,
)
#: Words that give a right or a duty to both parties alike.
_MUTUAL = re.compile(
    r"\b(?:either|each|both|neither)\s+(?:of\s+the\s+)?part(?:y|ies)\b|\bthe\s+parties\b", re.I
)
#: Consent, in the words a clause asks for it with.
_CONSENT = r"(?:consent|approv(?:al|e)|permission|authori[sz]ation)"
_FEW_WORDS = r"(?:[\w'\u2019,-]+\s+){0,6}?"
_WITHOUT_CONSENT = re.compile(rf"\bwithout\s+{_FEW_WORDS}{_CONSENT}\b", re.IGNORECASE)
_WITH_CONSENT = re.compile(
    rf"\b(?:subject\s+to|with|requir\w*|obtain\w*|receiv\w*|upon|after|conditional\s+on)\s+"
    rf"{_FEW_WORDS}{_CONSENT}\b"
    rf"|\b{_CONSENT}\s+(?:[\w'\u2019-]+\s+){{0,4}}?(?:is|are|shall\s+be|will\s+be)\s+(?:first\s+)?required\b",
    re.IGNORECASE,
)
_NO_CONSENT_NEEDED = re.compile(
    rf"\b(?:no|not)\s+(?:\w+\s+){{0,3}}?{_CONSENT}\s+(?:\w+\s+){{0,5}}?(?:required|needed|necessary)\b"
    rf"|\b(?:shall|will|does|do|need)\s+not\s+(?:require|need|obtain|seek)\w*\s+{_FEW_WORDS}{_CONSENT}\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?:[^.;!?]|\.(?=\d))+(?:[.;!?]|$)")  # "12.3" and "£1.5m" end no sentence


def negation(text: str) -> str | None:
    """The words that deny what ``text`` says ("shall not", "Neither"), or None."""
    plain = _NOT_NEGATIONS.sub(lambda match: " " * len(match.group()), text)
    found = _NEGATION.search(plain)
    if found is None:
        return None
    before = text[max(0, found.start() - 12) : found.start()].split()
    return " ".join([*before[-1:], found.group()])


def exception(text: str) -> str | None:
    """The exception ``text`` makes, from its first word to the end of its sentence, or None."""
    found = _EXCEPTION.search(text)
    if found is None:
        return None
    rest = text[found.start() :]
    sentence = _SENTENCE.match(rest)
    return (sentence.group() if sentence else rest).strip().rstrip(".;")


def discretion(text: str) -> str | None:
    """Words that leave the promise to one party's discretion, or None."""
    found = _DISCRETION.search(text)
    return found.group() if found else None


def consent_required(text: str) -> str | None:
    """The words by which ``text`` makes something need a party's consent, or None: "may not assign
    without the prior written consent of …" (a denial that only holds until consent is given, so no
    denial of what needs it), "subject to the Landlord's approval", "consent … is required"."""
    for start, end in sentences(text):
        sentence = text[start:end]
        without = _WITHOUT_CONSENT.search(sentence)
        if without and negation(sentence[: without.start()]):
            return " ".join(without.group().split())
        found = _WITH_CONSENT.search(sentence)
        if found and not _NO_CONSENT_NEEDED.search(sentence):  # "except with … approval" after a denial too
            return " ".join(found.group().split())
    return None


def consent_waived(text: str) -> str | None:
    """The words by which ``text`` lets something be done without consent ("may subcontract without
    the Customer's consent"), or None: "without … consent" that no denial before it turns round."""
    for start, end in sentences(text):
        sentence = text[start:end]
        without = _WITHOUT_CONSENT.search(sentence)
        if without and not negation(sentence[: without.start()]):
            return " ".join(without.group().split())
        needless = _NO_CONSENT_NEEDED.search(sentence)
        if needless:
            return " ".join(needless.group().split())
    return None


def mutual(text: str) -> bool:
    """Whether ``text`` speaks of both parties alike ("either party", "each of the parties")."""
    return _MUTUAL.search(text) is not None


def sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of ``text``, as spans."""
    return [(match.start(), match.end()) for match in _SENTENCE.finditer(text) if match.group().strip()]
