"""Contract text as clauses and terms: the units the scorer ranks and the auditor searches.

A clause is a paragraph, or a numbered section, split further into groups of sentences when it
is long, so that evidence quoted back to a reviewer is a passage, not a page; a sentence longer
than a clause is cut between words, so no clause is ever much longer than ``MAX_CLAUSE_CHARS``
(the auditor's patterns then run on short texts, whatever a document holds). Each clause keeps
its place in the document (``start``/``end``, character offsets into the extracted text), so a
reviewer can be shown the passage where it stands.

Terms are lower-case words without stop words, reduced by the Snowball English stemmer
("terminates", "termination" and "terminated" all become "termin"; "paid" and "payment" join
"pay"), and the contract vocabulary's synonyms name one concept (``vocabulary.py``: the
"Contractor" is the supplier). Numbers are never terms (a criterion's "30" must not match a
clause numbered 30: numbers are quantities, ``quantities.py``), and neither are a clause's
numbering, its heading ("12.3 Payment." or a heading line above it) or its cross-references
("subject to clause 30.2"): they say where a clause is, not what it says.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import snowballstemmer

from .vocabulary import PHRASES, SAME_AS, STOP_WORDS

#: A clause longer than this many characters is split into groups of sentences.
MAX_CLAUSE_CHARS = 600

_PARAGRAPH_BREAK = re.compile(
    r"\n\s*\n|\n(?=\s*(?:\d+(?:\.\d+)*[.)]|[A-Z][A-Z ]{3,}\n|Section \d|Article \d))"
)
_SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+(?=[A-Z(\"'])")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_NUMBERING = re.compile(
    r"(?:(?:section|clause|article)\s+)?(?:\d+(?:\.\d+)*\.?|\(?[a-z]\)|\(?[ivx]{1,5}\)|[A-Z]\.)\s+",
    re.IGNORECASE,
)
#: A heading after the numbering: a few words and a full stop, then the clause's first sentence.
_INLINE_HEADING = re.compile(r"[A-Z][A-Za-z&,'/ -]{0,60}?\.\s+(?=[A-Z\"(])")
_CROSS_REFERENCE = re.compile(
    r"\b(?:sub-?)?(?:clauses?|sections?|articles?|schedules?|paragraphs?|annex(?:es)?|exhibits?|"
    r"appendix|appendices|parts?)\s+(?:\d+|[IVX]+\b|[A-Z]\b)(?:\.\d+)*(?:\s*\([a-z0-9]{1,4}\))*"
    r"(?:\s*(?:,|and|or|to|-)\s*\d+(?:\.\d+)*(?:\s*\([a-z0-9]{1,4}\))*)*",
    re.IGNORECASE,
)
_TITLE_SMALL_WORDS = frozenset(["a", "an", "and", "for", "in", "of", "on", "or", "the", "to"])


@dataclass(frozen=True, slots=True)
class Clause:
    """A passage of a document: its text (spaces collapsed), where it stands in the document's
    text (``start`` to ``end``), and its terms, each with its offset in ``text``. ``plain`` is
    the text with its numbering, heading and cross-references blanked out (same offsets)."""

    index: int
    text: str
    start: int
    end: int
    words: tuple[tuple[str, int], ...]
    plain: str = ""

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(term for term, _ in self.words)


def quote(text: str, limit: int = 400) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut (evidence shown to people)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_STEMMERS = threading.local()  # a Snowball stemmer keeps state while it works: one per thread


def _english_stemmer() -> snowballstemmer.stemmer:
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer


@functools.lru_cache(maxsize=100_000)  # contract vocabulary is small; stemming is the slow part
def stem(word: str) -> str:
    stemmed = _english_stemmer().stemWord(word)
    return SAME_AS.get(stemmed, stemmed)


def terms(text: str) -> tuple[str, ...]:
    """The terms of a text: stemmed words, without stop words or numbers."""
    return tuple(term for term, _ in _words(text))


def words(text: str) -> tuple[tuple[str, int], ...]:
    """The terms of a text, each with its offset in ``text``."""
    return tuple(_words(text))


def _words(text: str) -> Iterator[tuple[str, int]]:
    found = [
        (stem(match.group()), match.start())
        for match in _WORD.finditer(text.lower())
        if match.group() not in STOP_WORDS and not any(char.isdigit() for char in match.group())
    ]
    found += [(concept, match.start()) for pattern, concept in PHRASES for match in pattern.finditer(text)]
    return iter(sorted(found, key=lambda pair: pair[1]))


def split_clauses(text: str) -> list[Clause]:
    spans: list[tuple[int, int]] = []
    heading: int | None = None  # where a heading line waiting for its clause starts
    for start, end in _blocks(text):
        if _is_heading(text[start:end]):
            heading = start if heading is None else heading
            continue
        if heading is not None:
            start, heading = heading, None
        if end - start <= MAX_CLAUSE_CHARS:
            spans.append((start, end))
            continue
        current: tuple[int, int] | None = None
        for sentence in _cut_long(text, _sentences(text, start, end)):
            if current and sentence[1] - current[0] > MAX_CLAUSE_CHARS:
                spans.append(current)
                current = sentence
            else:
                current = (current[0] if current else sentence[0], sentence[1])
        if current:
            spans.append(current)
    if heading is not None:
        spans.append((heading, len(text.rstrip())))
    return [_clause(index, text, start, end) for index, (start, end) in enumerate(spans)]


def _clause(index: int, document: str, start: int, end: int) -> Clause:
    passage = " ".join(document[start:end].split())
    plain = _mask_locators(passage)
    return Clause(index, passage, start, end, tuple(_words(plain)), plain)


def _mask_locators(passage: str) -> str:
    """The passage with its numbering, heading and cross-references blanked out (same length)."""
    masked = passage
    position = 0
    heading_line = re.match(r"[A-Z0-9][A-Z0-9 &,'/.-]{2,}? (?=\d|[A-Z][a-z])", passage)
    if heading_line and heading_line.group().strip().isupper():
        position = heading_line.end()  # a heading line joined to its clause: "PAYMENT TERMS 1. ..."
    numbering = _NUMBERING.match(passage, position)
    if numbering:
        position = numbering.end()
    if position:
        heading = _INLINE_HEADING.match(passage, position)
        if heading and len(heading.group().split()) <= 6:
            position = heading.end()
    masked = " " * position + passage[position:]
    return _CROSS_REFERENCE.sub(lambda match: " " * len(match.group()), masked)


def _is_heading(block: str) -> bool:
    """A heading line (``PAYMENT TERMS``, ``Article 4 — Fees``): no sentence, only a title."""
    words = block.split()
    if not words or len(words) > 8 or block.rstrip()[-1] in ".;:!?,":
        return False
    letters = [char for char in block if char.isalpha()]
    titled = all(word[0].isupper() or not word[0].isalpha() or word in _TITLE_SMALL_WORDS for word in words)
    return bool(letters) and (block.isupper() or titled)


def _blocks(text: str) -> Iterator[tuple[int, int]]:
    """Paragraphs and numbered sections, as spans without surrounding spaces."""
    start = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = match.start() if match else len(text)
        span = _trimmed(text, start, end)
        if span:
            yield span
        start = match.end() if match else len(text)


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    for match in [*_SENTENCE_END.finditer(text, start, end), None]:
        stop = match.start() if match else end
        span = _trimmed(text, start, stop)
        if span:
            yield span
        start = match.end() if match else end


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _cut_long(text: str, sentences: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Each sentence, cut between words into pieces of at most ``MAX_CLAUSE_CHARS`` characters."""
    for start, end in sentences:
        while end - start > MAX_CLAUSE_CHARS:
            space = text.rfind(" ", start, start + MAX_CLAUSE_CHARS)
            cut = space if space > start else start + MAX_CLAUSE_CHARS
            yield start, cut
            start = cut + 1 if cut == space else cut
            while start < end and text[start].isspace():
                start += 1
        yield start, end
