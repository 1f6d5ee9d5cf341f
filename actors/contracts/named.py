"""What a criterion names besides its subject: the place whose law or courts it asks for, and the party
that holds the right or the duty.

"Governed by the laws of New York" is about governing law, and it names a place: a clause that
chooses the law of New Jersey speaks of the same subject and does not meet it. So the scorer reads
places apart from the criterion's words, the way it reads quantities: ``places`` finds them in a
criterion, ``jurisdictions`` in a clause, where a place counts only in a legal sense (the law or
the courts of a place, "English law"), not as part of another name ("the New York Stock
Exchange", "a Delaware corporation", "the English language"). Each place has one name, so
"English law" and "the laws of England and Wales" name the same place.

"The supplier may subcontract" gives a right to the supplier; a clause that gives it to the
Customer does not meet it. ``holder`` reads who a sentence gives its right or duty to ("The
Customer may …"): a role of a known pair (supplier and customer, licensor and licensee, …), so
that only the other role of the same pair is told apart; a party named by its own name is not.

Matching is word by word against fixed lists (never a pattern made of the user's text), so it
runs in time linear in the text.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_US_STATES = """alabama alaska arizona arkansas california colorado connecticut delaware florida georgia
hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota
mississippi missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah
vermont virginia washington wisconsin wyoming"""
_MULTI_WORD = [
    *["new hampshire", "new jersey", "new mexico", "new york", "north carolina", "north dakota"],
    *["rhode island", "south carolina", "south dakota", "west virginia", "district of columbia"],
    *["ontario", "quebec", "alberta", "british columbia", "manitoba", "nova scotia", "saskatchewan"],
    *["scotland", "northern ireland", "ireland", "germany", "france", "netherlands", "switzerland"],
    *["israel", "india", "japan", "singapore", "hong kong", "taiwan", "korea", "australia", "sweden"],
    *["luxembourg", "italy", "spain", "bermuda", "cayman islands", "british virgin islands", "canada"],
    *["china", "people's republic of china", "mexico", "brazil", "belgium", "denmark", "norway"],
    *["united states", "united states of america", "united kingdom"],
]
#: Other names of a place, and adjectives that name its law ("English law", "Dutch law").
_ALIASES = {
    "england": "england and wales",
    "wales": "england and wales",
    "english": "england and wales",
    "england and wales": "england and wales",
    "scottish": "scotland",
    "irish": "ireland",
    "german": "germany",
    "french": "france",
    "dutch": "netherlands",
    "swiss": "switzerland",
    "israeli": "israel",
    "indian": "india",
    "japanese": "japan",
    "singaporean": "singapore",
    "prc": "china",
    "people's republic of china": "china",
    "chinese": "china",
    "canadian": "canada",
    "australian": "australia",
    "swedish": "sweden",
    "italian": "italy",
    "spanish": "spain",
    "mexican": "mexico",
    "brazilian": "brazil",
    "belgian": "belgium",
    "danish": "denmark",
    "norwegian": "norway",
    "new york city": "new york",
    "usa": "united states",
    "u.s": "united states",
    "d.c": "district of columbia",
}
#: Every name of a place, as its words, mapped to the place's one name.
_NAMES: dict[tuple[str, ...], str] = {
    **{(state,): state for state in _US_STATES.split()},
    **{tuple(name.split()): name for name in _MULTI_WORD},
    **{tuple(name.split()): place for name, place in _ALIASES.items()},
}
_LONGEST = max(len(words) for words in _NAMES)
#: A word after a place that makes it part of another name, or a party's domicile, not a law or a court.
_NOT_A_FORUM = frozenset(
    _words("stock exchange convention times corporation corp company limited llc inc ltd partnership bank")
    | _words("university language limited-liability plc gmbh ag bv sa")
)
#: Words that put a place in a legal sense: its law, or its courts.
_LAW_WORDS = _words("law laws governed governing govern governs construed interpreted")
_FORUM_WORDS = _words("court courts jurisdiction venue tribunal arbitration seat forum")
#: How many words may stand between a place and the legal word that makes it a jurisdiction.
LEGAL_WINDOW = 12
_WORD = re.compile(r"[A-Za-z][A-Za-z.'\u2019]*")


@dataclass(frozen=True, slots=True)
class Place:
    name: str  # the place's one name ("england and wales")
    written: str  # as the text writes it ("English")
    start: int
    forum: bool = False  # named for its courts, not its law


def places(text: str) -> list[Place]:
    """Every place ``text`` names (a criterion: each place it names is one it asks for)."""
    tokens = [(m.group().rstrip(".").replace("\u2019", "'"), m.start()) for m in _WORD.finditer(text)]
    found: list[Place] = []
    index = 0
    while index < len(tokens):
        for length in range(min(_LONGEST, len(tokens) - index), 0, -1):
            words = tuple(word.lower() for word, _ in tokens[index : index + length])
            name = _NAMES.get(words)
            if name and tokens[index][0][:1].isupper():  # a place is a proper noun
                start = tokens[index][1]
                end = tokens[index + length - 1][1] + len(tokens[index + length - 1][0])
                following = tokens[index + length][0].lower() if index + length < len(tokens) else ""
                if following not in _NOT_A_FORUM:
                    found.append(Place(name, text[start:end], start, _forum(tokens, index, length)))
                index += length
                break
        else:
            index += 1
    return found


def jurisdictions(text: str) -> list[Place]:
    """The places ``text`` names in a legal sense: for their law or their courts."""
    tokens = [m.group().lower().rstrip(".") for m in _WORD.finditer(text)]
    legal = [n for n, word in enumerate(tokens) if word in _LAW_WORDS or word in _FORUM_WORDS]
    if not legal:
        return []
    starts = [m.start() for m in _WORD.finditer(text)]
    return [
        place
        for place in places(text)
        if min(abs(bisect.bisect_left(starts, place.start) - n) for n in legal) <= LEGAL_WINDOW
    ]


def asks_for_forum(text: str) -> bool:
    """Whether a criterion asks for a place's courts rather than its law."""
    words = {m.group().lower() for m in _WORD.finditer(text)}
    return bool(words & _FORUM_WORDS) and not words & _LAW_WORDS


def _forum(tokens: list[tuple[str, int]], index: int, length: int) -> bool:
    """Whether the place at ``tokens[index]`` is named for its courts, not its law: by the legal word
    before it ("the courts of Texas", "the laws of the State of Texas and venue in …"), else the one
    after it ("Texas law")."""
    before = [word.lower() for word, _ in tokens[max(0, index - LEGAL_WINDOW // 2) : index]]
    after = [word.lower() for word, _ in tokens[index + length : index + length + LEGAL_WINDOW // 2]]
    for word in [*reversed(before), *after]:
        if word in _LAW_WORDS or word in _FORUM_WORDS:
            return word in _FORUM_WORDS
    return False


# Parties ------------------------------------------------------------------------------------------

#: Roles in pairs: a right given to one role of a pair is not given to the other.
_ROLES = {
    "supplier": "supplier",
    "vendor": "supplier",
    "seller": "supplier",
    "contractor": "supplier",
    "consultant": "supplier",
    "provider": "supplier",
    "customer": "customer",
    "client": "customer",
    "buyer": "customer",
    "purchaser": "customer",
    "licensor": "licensor",
    "licensee": "licensee",
    "landlord": "landlord",
    "lessor": "landlord",
    "tenant": "tenant",
    "lessee": "tenant",
    "lender": "lender",
    "borrower": "borrower",
    "franchisor": "franchisor",
    "franchisee": "franchisee",
}
_PAIRS = {
    frozenset(pair)
    for pair in [
        ("supplier", "customer"),
        ("licensor", "licensee"),
        ("landlord", "tenant"),
        ("lender", "borrower"),
        ("franchisor", "franchisee"),
    ]
}
_HOLDER = re.compile(
    r"\b(?P<role>" + "|".join(_ROLES) + r")\s+(?:(?:shall|will|may|must|can)\b|agrees\b|undertakes\b|"
    r"is\s+entitled\b|has\s+the\s+right\b|(?:is|are)\s+(?:responsible|obliged|required)\b)",
    re.IGNORECASE,
)
_BOTH = re.compile(r"\b(?:either|each|both|neither)\s+(?:of\s+the\s+)?part(?:y|ies)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Holder:
    role: str  # "supplier"
    written: str  # "Customer", as the text writes it


def holder(text: str) -> Holder | None:
    """The role a sentence gives its right or duty to ("The Customer may …"), or None when it names
    no role of a known pair or gives it to both parties."""
    if _BOTH.search(text):
        return None
    found = _HOLDER.search(text)
    if found is None:
        return None
    return Holder(_ROLES[found.group("role").lower()], found.group("role"))


def other_party(asked: Holder, given: Holder) -> bool:
    """Whether ``given`` is the other role of ``asked``'s pair (not merely another name)."""
    return asked.role != given.role and frozenset((asked.role, given.role)) in _PAIRS


# What a criterion asks for --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asked:
    """What a criterion names that a clause must name too: places (for their law, or their courts)
    and the role that holds the right or the duty."""

    places: tuple[Place, ...] = ()
    forum: bool = False
    holder: Holder | None = None

    @classmethod
    def read(cls, criterion: str) -> Asked:
        return cls(tuple(places(criterion)), asks_for_forum(criterion), holder(criterion))

    def miss(self, clause: str, focus: str) -> str | None:
        """Why a clause (``focus``: its sentences about the criterion) does not name what is asked,
        or None when it does (or the criterion names nothing)."""
        given = holder(focus) if self.holder else None
        if self.holder and given and other_party(self.holder, given):
            return f"gives it to the {given.written}, not the {self.holder.written}"
        if not self.places:
            return None
        asked = _listed([place.written for place in self.places])
        named = jurisdictions(clause)
        if not named:
            return f'names no jurisdiction; asked: "{asked}"'
        of_kind = [place for place in named if place.forum == self.forum] or named
        if any(place.name == wanted.name for place in of_kind for wanted in self.places):
            return None
        return f'names "{_listed([place.written for place in of_kind])}", not "{asked}"'

    def fact(self, clause: str) -> str | None:
        """What the clause names of what is asked ('names "English" law'), for a reason that meets."""
        wanted = {place.name for place in self.places}
        named = [place.written for place in jurisdictions(clause) if place.name in wanted]
        return f'names "{named[0]}"' if named else None


def _listed(names: list[str]) -> str:
    unique = list(dict.fromkeys(names))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]
