"""The words contracts use, as pieces of the built-in checks' patterns (``checks.py``).

Each piece is a regular expression written here, matched case-insensitively within one sentence
(``IN``: no full stop or semicolon, except inside a number such as "clause 19.2"). Pieces that
name a thing ("liability", a cap, an indemnity, a party) are shared by several checks; idioms
that look like the thing but are not ("including, without limitation") are here too, so that a
check can blank them out before it looks.
"""

from __future__ import annotations

#: Within one sentence: no full stop or semicolon, except inside a number ("clause 19.2").
IN = r"(?:[^.;]|\.(?=\d))"
LIABILITY = r"liabilit(?:y|ies)|liable"
CAP = r"(?:cap|limit|limitation|ceiling|maximum)"
INDEMNITY = r"(?:indemnif\w*|indemnit\w*|hold\s+harmless)"
#: Words saying a liability has no cap.
UNCAPPED = (
    rf"\bunlimited\b|\buncapped\b|\bwithout\s+(?:any\s+)?{CAP}s?\b|\bno\s+(?:\w+\s+){{0,2}}?{CAP}s?\b"
    rf"|\bnot\s+(?:be\s+)?(?:subject\s+to\s+(?:any|the)\s+(?:\w+\s+){{0,3}}?{CAP}s?|limited|capped)\b"
    rf"|\b{CAP}s?\b{IN}{{0,80}}\b(?:shall|will|do|does)\s+not\s+apply\b"
    r"|\b(?:excluded|exempt|carved\s+out)\s+from\s+(?:the\s+|any\s+)?(?:\w+\s+){0,3}?(?:cap|limit)"
    r"|\boutside\s+(?:the\s+|any\s+)?(?:cap|limit)|\bin\s+full\b"
)
UNCAPPED_INDEMNITY = (
    rf"{INDEMNITY}{IN}{{0,160}}?(?:{UNCAPPED})",
    rf"(?:{UNCAPPED}){IN}{{0,160}}?{INDEMNITY}",
)
#: Idioms that read as a liability without a cap but are none: "including, without limitation,"
#: and "including but not limited to" introduce examples; "in full force and effect", "paid in
#: full" and "a limited liability or unlimited liability company" say nothing of a cap.
LOOKS_UNCAPPED = (
    r"\b(?:including|includes?|such\s+as|in\s+particular)\b\s*,?\s*\(?\s*(?:but\s+)?"
    r"(?:(?:is|are)\s+not\s+|(?:shall|will)\s+not\s+be\s+|not\s+)?(?:limited\s+to|without\s+limitation)\b"
    r"|\bwithout\s+limitation\s+(?:of|to)\b|\bin\s+full\s+force\b"
    r"|\b(?:paid|satisfied|reimbursed|settled|discharged)\s+(?:or\s+otherwise\s+\w+\s+)?in\s+full\b"
    r"|\b(?:un)?limited\s+liability\s+(?:compan|partnership)"
)
PARTY = (
    r"(?:supplier|customer|provider|vendor|licensor|licensee|contractor|company|client|seller|buyer|"
    r"landlord|tenant|consultant|agency|[A-Z][a-z]+)"
)
#: The places whose law contracts choose most often, for "the laws of …" without "governed".
PLACES = (
    r"england|scotland|ireland|new\s+york|delaware|california|texas|germany|france|switzerland|singapore"
    r"|hong\s+kong|wales|[a-z]+\s+law\b"
)
#: A law named by its place: "the laws of …", "New York law", "English law".
NAMED_LAW = r"(?:laws?\s+of\b|(?-i:[A-Z][A-Za-z]*)\s+laws?\b)"
#: A period of time: "twelve (12) months", "one-year", "an additional term".
PERIOD = r"(?:an?\s+|one\s+)?(?:[\w()-]+\s+){0,4}?(?:days?|weeks?|months?|years?|terms?|periods?)\b"
