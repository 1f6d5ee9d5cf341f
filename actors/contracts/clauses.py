"""Contract text as clauses and terms: the units the scorer ranks and the auditor searches.

A clause is a paragraph, or a numbered section, split further into groups of sentences when it
is long, so that evidence quoted back to a reviewer is a passage, not a page; a sentence longer
than a clause is cut between words, so no clause is ever much longer than ``MAX_CLAUSE_CHARS``
(the auditor's patterns then run on short texts, whatever a document holds). Terms are
lower-case words and numbers without stop words, reduced by the Snowball English stemmer
("terminates", "termination" and "terminated" all become "termin"; "paid" and "payment" join
"pay"), which keeps the scorer deterministic and offline.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import snowballstemmer

#: A clause longer than this many characters is split into groups of sentences.
MAX_CLAUSE_CHARS = 600

_PARAGRAPH_BREAK = re.compile(
    r"\n\s*\n|\n(?=\s*(?:\d+(?:\.\d+)*[.)]|[A-Z][A-Z ]{3,}\n|Section \d|Article \d))"
)
_SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+(?=[A-Z(\"'])")
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
#: Irregular forms the Snowball stemmer leaves apart but contracts use interchangeably.
_SAME_AS = {"paid": "pay", "payment": "pay", "payabl": "pay", "liabil": "liabl"}
_STOP_WORD_TEXT = """
a an and any are as at be been by can do does for from had has have if in into is it its may must
no not of on or other our shall should so such than that the their them then there these they
this those to under upon was we were what when where which while who will with within without
would you your all also each every herein hereof hereto thereof hereunder
"""
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())


@dataclass(frozen=True, slots=True)
class Clause:
    index: int
    text: str
    terms: tuple[str, ...]


def quote(text: str, limit: int = 400) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut (evidence shown to people)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@functools.cache
def _english_stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=100_000)  # contract vocabulary is small; stemming is the slow part
def stem(word: str) -> str:
    stemmed = _english_stemmer().stemWord(word)
    return _SAME_AS.get(stemmed, stemmed)


def terms(text: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in _WORD.findall(text.lower()) if word not in STOP_WORDS)


def split_clauses(text: str) -> list[Clause]:
    passages: list[str] = []
    for block in _PARAGRAPH_BREAK.split(text):
        block = " ".join(block.split())
        if not block:
            continue
        if len(block) <= MAX_CLAUSE_CHARS:
            passages.append(block)
            continue
        current = ""
        for sentence in _cut_long(_SENTENCE_END.split(block)):
            if current and len(current) + len(sentence) > MAX_CLAUSE_CHARS:
                passages.append(current)
                current = sentence
            else:
                current = f"{current} {sentence}".strip()
        if current:
            passages.append(current)
    return [Clause(index, passage, terms(passage)) for index, passage in enumerate(passages)]


def _cut_long(sentences: list[str]) -> Iterator[str]:
    """Each sentence, cut between words into pieces of at most ``MAX_CLAUSE_CHARS`` characters."""
    for sentence in sentences:
        start = 0
        while len(sentence) - start > MAX_CLAUSE_CHARS:
            space = sentence.rfind(" ", start, start + MAX_CLAUSE_CHARS)
            end = space if space > start else start + MAX_CLAUSE_CHARS
            yield sentence[start:end]
            start = end + 1 if end == space else end
        yield sentence[start:]
