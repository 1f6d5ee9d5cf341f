"""Reading a DOCX's body text: the zip is inspected before python-docx opens it, and the text is
taken from the body's XML directly.

A DOCX is a zip, and a zip can declare a gigabyte behind a kilobyte: before anything is unpacked,
the members' declared sizes are checked (their number, their sum, and each big member's packing
ratio). ``zipfile`` never unpacks more than a member declares (it stops there and fails the CRC),
so checking the declarations bounds what python-docx will unpack.

The text is read by walking the body's XML instead of python-docx's ``Table.rows`` / ``row.cells``:
``row.cells`` repeats a cell once per grid column it spans, so one ``<w:gridSpan w:val="25000"/>``
costs 25,000 cell objects. Here each ``w:tc`` is read once, in document order with the paragraphs:
a paragraph is a block, a table row is a block of its cells' text joined by `` | ``
(a row of blank cells is left out).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

from .model import MIB, ExtractedText, ExtractionLimits, TextBudget, Unreadable

#: Most members a DOCX may have; Word writes a dozen, plus one per image.
MAX_MEMBERS = 1000
#: Members smaller than this unpacked are not ratio-checked: a small run of zeros packs 1000:1
#: and is harmless.
RATIO_FLOOR_BYTES = 1 * MIB
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def read_docx(filename: str, data: bytes, limits: ExtractionLimits) -> ExtractedText:
    check_zip(filename, data, limits)
    import docx

    document: Any = docx.Document(io.BytesIO(data))
    budget = TextBudget(filename, limits.max_chars)
    blocks = [budget.add(block) for block in _blocks(document.element.body)]
    return ExtractedText(text="\n\n".join(blocks), content_type=CONTENT_TYPE)


def check_zip(filename: str, data: bytes, limits: ExtractionLimits) -> None:
    """Refuse a zip whose declared contents are too many, too big, or packed like a bomb."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise Unreadable("this is not a DOCX file (it is not a zip archive)", filename=filename) from None
    if len(members) > MAX_MEMBERS:
        raise Unreadable(
            f"the DOCX file has {len(members):,} parts, more than {MAX_MEMBERS:,}", filename=filename
        )
    unzipped = sum(member.file_size for member in members)
    if unzipped > limits.max_unzipped_bytes:
        raise Unreadable(
            f"the DOCX file unpacks to {unzipped / MIB:,.0f} MiB, "
            f"more than {limits.max_unzipped_bytes / MIB:,.0f} MiB",
            filename=filename,
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_zip_ratio:
            raise Unreadable(
                f"the DOCX file's part {member.filename[:80]} unpacks {ratio:,.0f} times its packed size, "
                f"more than {limits.max_zip_ratio:,} (a zip bomb?)",
                filename=filename,
            )


def _w(tag: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag


PARAGRAPH, TABLE, ROW, CELL = _w("p"), _w("tbl"), _w("tr"), _w("tc")
CONTENT_CONTROL, CONTENT_CONTROL_BODY = _w("sdt"), _w("sdtContent")


def _blocks(container: Any) -> Iterator[str]:
    """The text blocks of ``container`` (the body, or a content control's content), in order."""
    for child in container.iterchildren():
        if child.tag == PARAGRAPH:
            yield child.text
        elif child.tag == TABLE:
            for row in child.iterchildren(ROW):
                cells = [_cell_text(cell) for cell in row.iterchildren(CELL)]
                if any(text.strip() for text in cells):  # a row of empty cells would be just pipes
                    yield " | ".join(cells)
        elif child.tag == CONTENT_CONTROL:  # a content control wraps paragraphs and tables
            for content in child.iterchildren(CONTENT_CONTROL_BODY):
                yield from _blocks(content)


def _cell_text(cell: Any) -> str:
    """A cell's paragraphs, one a line; a table nested in it is read as its paragraphs."""
    return "\n".join(paragraph.text for paragraph in cell.iter(PARAGRAPH))
