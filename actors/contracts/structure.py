"""What a passage of a contract is: a table of contents, a heading, a definition, the preamble, or a clause.

Only a clause of the body binds anyone. The other passages name the same subjects without
saying anything about them: a table of contents lists "Section 12.01 Governing Law 19", a bare
heading ("15.13 Governing Law.") only announces the clause after it, a definitions entry
("“Applicable Law” means …") fixes a word's meaning, and the preamble describes the parties
("Acme Inc., a corporation organized under the laws of the State of Delaware") and their
reasons (WHEREAS recitals). The auditor's checks quote body clauses only (``checks.py``).

The preamble is the opening of a document, so it is recognised only there: from the start to
the clause that says the parties "agree as follows" ("NOW, THEREFORE …"), or to the first
section, or to ``OPENING_CLAUSES`` clauses, whichever comes first. Everything here is a few
regular expressions per clause, each linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

from .clauses import Clause


class Kind(str, Enum):
    TABLE_OF_CONTENTS = "table of contents"
    HEADING = "heading"
    DEFINITIONS = "definitions"
    PREAMBLE = "preamble"
    BODY = "body"


#: The preamble and recitals are looked for in at most this many clauses at the start.
OPENING_CLAUSES = 30

#: One entry of a table of contents, seen from its page number: a title's last letter, the page
#: (arabic or roman, maybe after dot leaders), then the next entry's number or word. Numbers
#: may touch their title ("3.15Governing Law 16 3.16Indemnity 16").
_TOC_ENTRY = re.compile(
    r"[A-Za-z)] (?:\d{1,3}|[ivx]{1,4}) "  # a clause's text has single spaces
    r"(?=(?i:section|article|clause|schedule|exhibit|annex|appendix|part)\b|\d{1,2}(?:\.\d{1,3})+"
    r"|\d{1,2}\.? ?[A-Z]|[IVX]{1,5}\.? [A-Z])"
    r"|\.{4,} ?(?:\d{1,3}|[ivx]{1,4})\b"
)
_TOC_TITLE = re.compile(r"\b(?:table\s+of\s+contents|contents|index\s+of\s+(?:sections|clauses))\b", re.I)
#: A page number ending the last entry of a table of contents: "… Section 12.03 Notices 20".
_TOC_LAST_PAGE = re.compile(r"[A-Za-z)] (?:\d{1,3}|[ivx]{1,4})$")

#: A defined term at the start of a passage, in quotes or capitalised, and the word defining it.
_DEFINITION = re.compile(
    r"(?:[\u201c\"'\u2018]+[^\u201c\u201d\"'\u2018\u2019]{1,80}[\u201d\"'\u2019]+\s*(?:\([^)]{0,60}\)\s*)?,?"
    r"|(?-i:[A-Z][\w-]*(?:\s+(?:of|and|or|the|[A-Z][\w-]*)){0,5}))\s*"
    r"(?:(?:shall|will|when\s+used\s+(?:in|herein)[^.;]{0,60}?,?)\s+)?"
    r"(?:means?|mean|ha(?:s|ve)\s+the\s+meanings?|includes?|refers?\s+to|is\s+defined)\b",
    re.IGNORECASE,
)
#: An unquoted term defines only with "means" ("Customer includes …" is a body clause's word).
_QUOTED = re.compile(r"[\u201c\"'\u2018]")
_MEANS = re.compile(r"\b(?:shall\s+)?means?\b", re.IGNORECASE)

#: The parties' paragraph: the agreement made between them, or a party described as an entity.
_MADE = re.compile(
    r"\b(?:made|entered\s+into|dated|executed|concluded)\b[^;]{0,400}?\b(?:between|among)\b"
    r"|\bby\s+and\s+(?:between|among)\b|\b(?:is|are)\s+(?:made\s+)?between\b",
    re.IGNORECASE,
)
_ENTITY = re.compile(
    r"\b(?:organi[sz]ed|incorporated|formed|existing|registered|constituted|established)\s+"
    r"(?:and\s+(?:existing|in\s+good\s+standing)\s+)?under\s+the\s+laws?\s+of\b"
    r"|,\s+an?\s+(?:[A-Z][\w.&-]*\s+){1,4}(?i:corporation|company|limited\s+(?:liability\s+)?company"
    r"|(?:limited\s+)?partnership|LLC|L\.L\.C\.|GmbH|AG|S\.A\.|B\.V\.|plc|trust|bank)\b",
)
_RECITAL = re.compile(
    r"(?:\(?[A-Z0-9]{1,3}[.)]\s*)?(?:WHEREAS|Whereas|RECITALS?|Recitals?|BACKGROUND|PREAMBLE|W\s?I\s?T\s?N\s?E\s?S\s?S"
    r"|NOW,?\s+THEREFORE|Now,?\s+therefore)\b"
)
#: The last words of the opening: "NOW, THEREFORE, … the parties agree as follows:".
_AGREE = re.compile(
    r"\bnow,?\s+therefore\b|\bagree[sd]?\s+as\s+follows\b|\bhereby\s+agree\s*:", re.IGNORECASE
)
#: More text than this after "agree as follows" is the body's first section, joined to the preamble.
_AFTER_AGREEING = 150
#: The first section of the body: "1.", "1.1", "ARTICLE I", "Section 1.01", "Clause 1".
_FIRST_SECTION = re.compile(
    r"(?:^|\s)(?:(?i:article|section|clause)\s+)?(?:1|I|ONE)(?:\.0?1?)?\.?(?:\s|$)(?!\s*(?:%|percent|day|year))"
)

#: Heading words: capitalised (or small words joined to them), no sentence, at most a line.
_HEADING_WORD = re.compile(
    r"[A-Z0-9(\"\u201c'\u2018][\w\u2019'\"\u201d)&/.,;:-]*|(?:a|an|and|as|at|by|for|in|of|on|or|the|to|with)"
)
#: Words of a sentence that a title never has (an all-caps sentence is no heading).
_SENTENCE_WORD = re.compile(
    r"\b(?:shall|will|may|must|is|are|was|were|be|been|has|have|agrees?|means|this|that|such|any|not|no"
    r"|which|its|their|hereby|herein|hereof|thereof)\b",
    re.IGNORECASE,
)
#: A heading line masked out of a clause's plain text is at most this many words; a longer one is
#: an all-caps sentence that ``clauses`` took for a heading (it ends "… DAMAGES. 18").
_HEADING_WORDS = 12
_INLINE_TITLE = re.compile(r"([A-Z][A-Za-z&,;'\u2019/ -]{1,60}?)[.:]\s+(?=\S)")


def kinds(clauses: Sequence[Clause]) -> list[Kind]:
    """Each clause's kind, in order (the preamble only in the document's opening)."""
    found: list[Kind] = []
    opening = True
    for position, clause in enumerate(clauses):
        if opening and (position >= OPENING_CLAUSES or _starts_body(clause)):
            opening = False
        kind = kind_of(clause, in_opening=opening)
        found.append(kind)
        if kind is Kind.DEFINITIONS:
            opening = False  # the definitions are the body's first section
        if opening and kind is Kind.PREAMBLE and _AGREE.search(clause.text):
            opening = False  # "the parties agree as follows": the body starts with the next clause
    return found


def kind_of(clause: Clause, *, in_opening: bool = False) -> Kind:
    """What ``clause`` is; ``in_opening`` says it stands where a preamble can (see ``kinds``)."""
    text = clause.text
    own = own_text(clause).strip()
    if table_of_contents_ends(text) * 2 > len(text):
        return Kind.TABLE_OF_CONTENTS
    if _is_heading(own):
        return Kind.HEADING
    definition = _DEFINITION.match(own)
    if definition and (_QUOTED.match(own) or _MEANS.search(definition.group())):
        return Kind.DEFINITIONS
    if not in_opening or _starts_body(clause):
        return Kind.BODY
    agreed = _AGREE.search(text)
    if agreed and len(text) - agreed.end() > _AFTER_AGREEING:
        return Kind.BODY  # "… the parties agree as follows: 1. Term. …": the body's first section
    if agreed or _RECITAL.match(text) or _ENTITY.search(text) or _MADE.search(text):
        return Kind.PREAMBLE
    return Kind.BODY


def own_text(clause: Clause) -> str:
    """What ``clause`` says, without its numbering, heading and cross-references (``Clause.plain``),
    unless what was taken for its heading is too long to be one: then all of its text."""
    masked = clause.text[: len(clause.plain) - len(clause.plain.lstrip())]
    return clause.text if _not_a_heading(masked) else clause.plain


def table_of_contents_ends(text: str) -> int:
    """Where the table of contents at the start of ``text`` ends (0 when it has none): the end of its
    last entry, when there are at least two, or one under a "Table of Contents" title."""
    entries = list(_TOC_ENTRY.finditer(text))
    titled = _TOC_TITLE.search(text, 0, 200) is not None
    last_page = _TOC_LAST_PAGE.search(text, max(0, len(text) - 8))
    if last_page and (entries or titled):
        entries.append(last_page)
    if len(entries) >= 2 or (entries and titled):
        return entries[-1].end()
    return 0


def is_table_of_contents(text: str) -> bool:
    """Whether ``text`` (a sentence, say) lists sections and their pages."""
    return table_of_contents_ends(text) > 0


def heading_of(clause: Clause) -> str:
    """The words that name ``clause``: its heading line or inline heading ("12.01 Governing Law."),
    with its numbering; empty when it has none."""
    own = len(clause.plain) - len(clause.plain.lstrip())
    named = clause.text[:own]
    if _not_a_heading(named):
        return ""
    if not any(char.isalpha() for char in named.replace("Section", "").replace("Article", "")):
        title = _INLINE_TITLE.match(clause.plain, own)
        if title and len(title.group(1).split()) <= 8 and _is_heading(title.group(1)):
            named += title.group(1)
    return named


def _not_a_heading(masked: str) -> bool:
    return len(masked.split()) > _HEADING_WORDS or _SENTENCE_WORD.search(masked) is not None


def _is_heading(own: str) -> bool:
    """A passage that is only a title ("Governing Law and Equitable Relief.", "ARTICLE XII"), or has
    no words at all (a page number, a rule, "* * *")."""
    if not any(char.isalpha() for char in own):
        return True
    body = own.rstrip(".: ")
    words = body.split()
    if len(words) > _HEADING_WORDS or any(mark in body for mark in ".:!?") or _SENTENCE_WORD.search(body):
        return False
    return all(_HEADING_WORD.fullmatch(word) for word in words)


def _starts_body(clause: Clause) -> bool:
    """Whether ``clause`` is the first section of the body: its numbering ("1.", "1.1", "ARTICLE I",
    maybe under a heading line) is that of the first section."""
    numbering = clause.text[: len(clause.plain) - len(clause.plain.lstrip())]
    return (
        not _not_a_heading(numbering)
        and _FIRST_SECTION.search(numbering) is not None
        and not is_table_of_contents(clause.text)
    )
