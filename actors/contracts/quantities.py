"""Quantities in contract text: periods, percentages and sums of money, with their direction.

"within fourteen (14) days" is a period of at most 14 days; "no less than £5 million" a sum of at
least 5,000,000 GBP; "99.9%" a percentage, exactly. A criterion's quantities are what a clause
must meet, and ``meets`` says whether one of a clause's does: a clause that pays "within 14 days"
meets "within 30 days", one that pays in "60 days" does not.

Periods are counted in days (a week 7, a month 30, a year 365, a business day 7/5 of a day, an
hour 1/24), so "within one month" meets "within 30 days" and "48 hours" meets "within 3 days";
"indefinitely" and "in perpetuity" are periods without end. A rate's period ("2% per month",
"8% per annum") is kept, so rates per month and per year compare. Sums compare only in the same
currency (or where one side names none). Numbers written as words ("thirty") count; a number
that is not followed by a unit (a clause number, a cross-reference, a year) is no quantity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

#: How far apart two periods may be and still be the same ("one month" is "30 days").
TOLERANCE = 0.02


class Bound(str, Enum):
    AT_MOST = "at most"
    AT_LEAST = "at least"
    EXACTLY = "exactly"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A quantity found in a text: ``value`` in the kind's unit (days, percent, money), its bound,
    and the words that state it (``written``, bound included: "within fourteen (14) days")."""

    kind: str  # "period" (in days), "percent" or "money"
    value: float
    bound: Bound
    written: str
    start: int
    end: int
    currency: str = ""  # for money: "GBP", "USD", "EUR", or "" when the text names none
    per_days: float | None = None  # for a rate: its period in days ("2% per month": 30)
    #: "higher" when the text lets the real figure be higher ("the greater of 5% and CPI", "RPI
    #: plus 3%"), "lower" when it may be lower ("the lesser of $1m and the fees paid").
    floating: str | None = None


_SMALL = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
_NUMBER_WORDS = {word: value for value, word in enumerate(_SMALL.split())}
_NUMBER_WORDS |= {"sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "a": 1, "an": 1}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_TENS["ninety"] = 90
_WORDS = "|".join(sorted([*_NUMBER_WORDS, *_TENS], key=len, reverse=True))
_WORD_NUMBER = rf"(?:(?:{_WORDS})(?:[- ](?:{_WORDS}))?(?:\s+hundred(?:\s+and\s+(?:{_WORDS}))?)?)"
_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
#: A number: digits, words, or words with their digits after them ("thirty (30)").
_NUMBER = rf"(?:(?P<words>\b{_WORD_NUMBER})\s*(?:\(\s*(?P<paren>{_DIGITS})\s*\))?|(?P<digits>{_DIGITS}))"

_PERIOD_DAYS = {"minute": 1 / 1440, "hour": 1 / 24, "day": 1.0, "week": 7.0, "month": 365 / 12, "year": 365.0}
_PERIOD = re.compile(
    rf"{_NUMBER}\s*(?:\(\s*\d+\s*\)\s*)?(?P<kind>calendar\s+|business\s+|working\s+|banking\s+)?"
    r"(?P<unit>minute|hour|day|week|month|year)s?['\u2019]?(?![a-z])",
    re.IGNORECASE,
)
_ENDLESS = re.compile(
    r"\b(?:indefinitely|in\s+perpetuity|perpetual(?:ly)?|without\s+limit\s+(?:of|in)\s+time)\b", re.I
)
_NET_TERMS = re.compile(r"\bnet\s+(?P<digits>\d{1,3})\b(?!\s*(?:%|per|hours|weeks|months|years))", re.I)
_RATE_PERIOD = r"(?:\s*(?P<per>per\s+(?:annum|year|month|week|day)|a\s+(?:year|month)|annually|monthly))?"
_PERCENT = re.compile(rf"{_NUMBER}\s*(?:%|per\s*cent\b|percent\b){_RATE_PERIOD}", re.IGNORECASE)
_CURRENCY = r"(?P<code>£|\$|€|US\$|USD|GBP|EUR)"
_MULTIPLIER = r"(?:\s*(?P<scale>million|m\b|mn\b|billion|bn\b|thousand|k\b))?"
_MONEY = re.compile(
    rf"{_CURRENCY}\s?(?P<amount>{_DIGITS}){_MULTIPLIER}"
    rf"|(?P<amount2>{_DIGITS}){_MULTIPLIER.replace('scale', 'scale2')}"
    r"\s*(?P<code2>USD|GBP|EUR|dollars|pounds|euros)\b",
    re.IGNORECASE,
)
_CODES = {"£": "GBP", "$": "USD", "us$": "USD", "€": "EUR", "dollars": "USD", "pounds": "GBP", "euros": "EUR"}
_SCALES = {"million": 1e6, "m": 1e6, "mn": 1e6, "billion": 1e9, "bn": 1e9, "thousand": 1e3, "k": 1e3}
#: A rate's period ("per annum", "monthly") and the period an "after the end of" runs from, in days.
_RATE_DAYS = {**_PERIOD_DAYS, "annum": 365.0, "annually": 365.0, "monthly": _PERIOD_DAYS["month"]}
_ANCHOR_DAYS = {**_PERIOD_DAYS, "quarter": 365 / 4}

#: Words before a quantity that bound it, nearest first wins; up to three words may stand between.
_BEFORE = re.compile(
    r"(?:(?P<most>within|no\s+more\s+than|not\s+more\s+than|no\s+later\s+than|not\s+later\s+than|"
    r"no\s+longer\s+than|not\s+longer\s+than|not\s+exceed(?:ing)?|shall\s+not\s+exceed|up\s+to|at\s+most|"
    r"maximum(?:\s+of)?|less\s+than|fewer\s+than|under|capped\s+at|limited\s+to|by\s+no\s+later\s+than|"
    r"before\s+the\s+end\s+of|in\s+no\s+event\s+(?:more|later)\s+than|"
    r"no\s+[\w-]+(?:\s+[\w-]+)?\s+(?:shall|will|may)\s+exceed)"
    r"|(?P<least>at\s+least|no\s+less\s+than|not\s+less\s+than|no\s+fewer\s+than|not\s+fewer\s+than|"
    r"minimum(?:\s+of)?|more\s+than|in\s+excess\s+of|exceeding|no\s+shorter\s+than|not\s+shorter\s+than|"
    r"longer\s+than|greater\s+than))"
    r"(?P<gap>(?:\s+(?!and\b|or\b)[a-z'\u2019-]+){0,3}?)\s*$",
    re.IGNORECASE,
)
_AFTER = re.compile(
    r"\s*(?:(?P<most>or\s+(?:less|fewer|sooner|earlier|shorter)|at\s+(?:the\s+)?(?:latest|most))"
    r"|(?P<least>or\s+(?:more|longer|greater|over)|at\s+(?:the\s+)?least))\b",
    re.IGNORECASE,
)


#: "… days after the end of the month in which …": the period runs from a later day.
_ANCHOR = re.compile(
    r"\s+(?:after|from|following)\s+the\s+end\s+of\s+(?:the|each|that)\s+(?:calendar\s+)?"
    r"(?P<period>month|quarter|year)\b",
    re.IGNORECASE,
)
_FLOATS_BEFORE = re.compile(
    r"(?:(?P<higher>\b(?:greater|higher)\s+of\b|\bplus\b|\+)|(?P<lower>\b(?:lesser|lower)\s+of\b))"
    r"(?=[^.;]{0,40}$)",
    re.IGNORECASE,
)
_FLOATS_AFTER = re.compile(
    r"[^.;]{0,120}?\bwhichever\s+is\s+(?:the\s+)?(?:(?P<higher>greater|higher|later|longer)|"
    r"(?P<lower>less|lesser|lower|earlier|sooner|shorter))\b",
    re.IGNORECASE,
)


def quantities(text: str) -> list[Quantity]:
    """Every quantity in ``text``, in order."""
    found = [*_periods(text), *_percentages(text), *_sums(text)]
    return sorted(found, key=lambda quantity: quantity.start)


def meets(required: Quantity, stated: Quantity) -> bool | None:
    """Whether a clause's ``stated`` quantity meets a criterion's ``required`` one (None: they are
    not of a kind to compare)."""
    if required.kind != stated.kind:
        return None
    if required.currency and stated.currency and required.currency != stated.currency:
        return None
    if (required.bound, stated.floating) in {(Bound.AT_MOST, "higher"), (Bound.AT_LEAST, "lower")}:
        return False  # the figure is not guaranteed on the side the criterion needs
    value, wanted = stated.value, required.value
    if required.per_days and stated.per_days and required.per_days != stated.per_days:
        value = value * required.per_days / stated.per_days  # 12% a year is 1% a month
    slack = TOLERANCE if required.kind == "period" else 1e-9  # only periods are converted
    if required.bound is Bound.AT_MOST:
        return value <= wanted * (1 + slack)
    if required.bound is Bound.AT_LEAST:
        return value >= wanted * (1 - slack)
    return math.isclose(value, wanted, rel_tol=max(slack, 1e-6))


def _number(match: re.Match[str]) -> float | None:
    """The number a match of ``_NUMBER`` holds: its digits, or its words added up."""
    digits = match.group("paren") or match.group("digits")
    if digits:
        return float(digits.replace(",", ""))
    words = (match.group("words") or "").lower()
    total = 0
    for word in re.findall(r"[a-z]+", words):
        if word == "hundred":
            total = max(total, 1) * 100
        else:
            total += _TENS.get(word, _NUMBER_WORDS.get(word, 0))
    return float(total) if words else None


def _bounded(text: str, kind: str, value: float, start: int, end: int, **extra: object) -> Quantity:
    """The quantity found at ``start:end``, with the words that bound it, before or after."""
    window = max(0, start - 60)
    before = _BEFORE.search(text[window:start])
    after = _AFTER.match(text, end)
    if after:
        bound = Bound.AT_MOST if after.group("most") else Bound.AT_LEAST
        end = after.end()
    elif before:
        bound = Bound.AT_MOST if before.group("most") else Bound.AT_LEAST
        start = window + before.start()
    else:
        bound = Bound.EXACTLY
    anchor = _ANCHOR.match(text, end)
    if anchor and kind == "period":
        value += _ANCHOR_DAYS[anchor.group("period").lower()]
        end = anchor.end()
    written = " ".join(text[start:end].split())
    return Quantity(kind, value, bound, written, start, end, floating=_floating(text, window, end), **extra)  # type: ignore[arg-type]


def _floating(text: str, window: int, end: int) -> str | None:
    before = _FLOATS_BEFORE.search(text, window, end)
    after = _FLOATS_AFTER.match(text, end)
    found = after or before
    if found is None:
        return None
    return "higher" if found.group("higher") else "lower"


def _periods(text: str) -> Iterator[Quantity]:
    for match in _PERIOD.finditer(text):
        number = _number(match)
        if number is None:
            continue
        days = _PERIOD_DAYS[match.group("unit").lower()]
        if match.group("kind") and match.group("kind").split()[0].lower() != "calendar":
            days *= 7 / 5  # business days: five in seven
        yield _bounded(text, "period", number * days, match.start(), match.end())
    for match in _ENDLESS.finditer(text):
        yield Quantity("period", math.inf, Bound.EXACTLY, match.group(), match.start(), match.end())
    for match in _NET_TERMS.finditer(text):
        days = float(match.group("digits"))
        yield Quantity("period", days, Bound.AT_MOST, match.group(), match.start(), match.end())


def _percentages(text: str) -> Iterator[Quantity]:
    for match in _PERCENT.finditer(text):
        number = _number(match)
        if number is None:
            continue
        per = (match.group("per") or "").lower().split()
        per_days = _RATE_DAYS.get(per[-1]) if per else None
        yield _bounded(text, "percent", number, match.start(), match.end(), per_days=per_days)


def _sums(text: str) -> Iterator[Quantity]:
    for match in _MONEY.finditer(text):
        amount = match.group("amount") or match.group("amount2")
        scale = (match.group("scale") or match.group("scale2") or "").lower()
        code = match.group("code") or match.group("code2") or ""
        value = float(amount.replace(",", "")) * _SCALES.get(scale, 1.0)
        currency = _CODES.get(code.lower(), code.upper())  # "USD" and "usd" name themselves
        yield _bounded(text, "money", value, match.start(), match.end(), currency=currency)
