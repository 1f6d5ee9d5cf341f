"""Hostile documents, made in code (no binary file is checked in): bombs that unpack to a gigabyte
or to millions of characters, files that loop, lie or break their parsers, and files that are not
what their extension says.

``corpus()`` lists them as ``HostileDocument(name, filename, data, reason)``: read under
``CORPUS_LIMITS``, each must fail with ``reason`` in its failure's reason. The documents the
tests use for the CPU, wall-clock and memory limits, and for pypdf's warnings, are built by the
functions below ``corpus``.
"""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib
from typing import NamedTuple

from extraction import ExtractionLimits

from .contracts import LEASE, make_docx, make_pdf

#: The limits the corpus's reasons are written against: the defaults, except a page and character
#: count small enough that documents over them stay small.
CORPUS_LIMITS = ExtractionLimits(max_pages=20, max_chars=50_000)
W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
MIB = 1024 * 1024


class HostileDocument(NamedTuple):
    name: str
    filename: str
    data: bytes
    reason: str


@functools.cache
def corpus() -> tuple[HostileDocument, ...]:
    documents = [
        # DOCX: bombs, then broken packages.
        ("zip bomb", "bomb.docx", zip_bomb_docx(), "MiB, more than 200 MiB"),
        ("packed zeros", "zeros.docx", docx_with_member("word/media/zeros.bin", bytes(20 * MIB)), "zip bomb"),
        (
            "text bomb",
            "text-bomb.docx",
            docx_of_paragraphs(["All work and no play. " * 40] * 40_000),
            "zip bomb",
        ),
        (
            "varied text over max_chars",
            "long.docx",
            make_docx(varied_text(60_000)),
            "more than 50,000 characters",
        ),
        (
            "gridSpan bomb, empty cells",
            "grid.docx",
            gridspan_bomb_docx(cell_text=""),
            "no text could be extracted",
        ),
        ("too many parts", "parts.docx", docx_with_many_members(1001), "parts, more than 1,000"),
        (
            "malformed XML",
            "malformed.docx",
            docx_with_document_xml(b"<w:document><w:body><w:p>"),
            "XMLSyntaxError",
        ),
        ("deep nesting", "deep.docx", deeply_nested_docx(5000), "XMLSyntaxError"),
        ("billion laughs", "laughs.docx", billion_laughs_docx(), "cannot be read"),
        ("no main document", "hollow.docx", docx_without_member("word/document.xml"), "cannot be read"),
        ("random bytes", "random.docx", random.Random(1).randbytes(5000), "not a zip archive"),
        ("empty", "empty.docx", b"", "the file is empty"),
        # PDF.
        ("encrypted", "locked.pdf", encrypted_pdf(), "the PDF is encrypted; upload an unprotected copy"),
        ("page tree loop", "loop.pdf", page_tree_loop_pdf(), "cyclic page references"),
        (
            "Kids of itself",
            "self.pdf",
            raw_pdf([CATALOG, b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]),
            "cyclic",
        ),
        ("truncated", "truncated.pdf", make_pdf(LEASE)[:700], "the PDF cannot be read"),
        (
            "too many pages",
            "pages.pdf",
            make_pdf("\n".join(f"line {n}" for n in range(25 * 60))),
            "25 pages, more than 20",
        ),
        ("text over max_chars", "long.pdf", make_pdf(varied_text(60_000)), "more than 50,000 characters"),
        ("flate bomb", "flate.pdf", one_page_pdf(b" " * 100_000_000), "LimitReachedError"),
        ("random bytes", "random.pdf", random.Random(2).randbytes(5000), "this is not a PDF file"),
        ("no body", "header.pdf", b"%PDF-1.7\n", "the PDF cannot be read"),
        ("empty", "empty.pdf", b"", "the file is empty"),
        # Plain text, and a type not read at all.
        (
            "binary garbage",
            "garbage.txt",
            b"\x7fELF\x02\x01\x01\x00" + random.Random(3).randbytes(5000),
            "binary data",
        ),
        ("not an encoding we read", "latin.md", b"caf\x81 \x8d\x8f", "no encoding we read"),
        ("text over max_chars", "long.txt", varied_text(60_000).encode(), "more than 50,000 characters"),
        ("blank", "blank.txt", b" \r\n\t\r\n", "no text could be extracted"),
        ("empty", "empty.md", b"", "the file is empty"),
        (
            "an executable",
            "setup.exe",
            b"MZ\x90\x00",
            "unsupported file type .exe; use .txt, .md, .pdf, .docx",
        ),
    ]
    return tuple(HostileDocument(*document) for document in documents)


def varied_text(characters: int, *, seed: int = 7) -> str:
    """Prose-like text of about ``characters`` characters that packs no better than real text."""
    words = LEASE.split()
    rng = random.Random(seed)
    paragraphs, length = [], 0
    while length < characters:
        paragraph = " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(60))
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(paragraphs)


# --- DOCX -----------------------------------------------------------------------------------


def docx_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_with_document_xml(xml: bytes) -> bytes:
    """A valid package (python-docx's own) whose main document is ``xml``."""
    return zip_of({**docx_members(make_docx("x")), "word/document.xml": xml})


def docx_with_body(body: str, *, doctype: str = "") -> bytes:
    """A valid package whose main document's body is the WordprocessingML ``body``."""
    return docx_with_document_xml(f"{doctype}<w:document {W}><w:body>{body}</w:body></w:document>".encode())


def docx_with_member(name: str, data: bytes) -> bytes:
    return zip_of({**docx_members(make_docx(LEASE)), name: data})


def docx_without_member(name: str) -> bytes:
    members = docx_members(make_docx(LEASE))
    del members[name]
    return zip_of(members)


def docx_with_many_members(count: int) -> bytes:
    members = docx_members(make_docx(LEASE))
    members.update({f"customXml/item{n}.xml": b"<a/>" for n in range(count - len(members) + 1)})
    return zip_of(members)


def docx_of_paragraphs(paragraphs: list[str]) -> bytes:
    return docx_with_body("".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs))


def gridspan_bomb_docx(*, cell_text: str, rows: int = 40, cells: int = 40, span: int = 25_000) -> bytes:
    """A table whose every cell claims to span ``span`` grid columns: python-docx's ``row.cells``
    builds ``rows * cells * span`` cell objects for it (40 million here)."""
    paragraph = f"<w:p><w:r><w:t>{cell_text}</w:t></w:r></w:p>"
    cell = f'<w:tc><w:tcPr><w:gridSpan w:val="{span}"/></w:tcPr>{paragraph}</w:tc>'
    return docx_with_body("<w:tbl>" + f"<w:tr>{cell * cells}</w:tr>" * rows + "</w:tbl>")


def deeply_nested_docx(depth: int) -> bytes:
    return docx_with_body("<w:sdt><w:sdtContent>" * depth + "<w:p/>" + "</w:sdtContent></w:sdt>" * depth)


def billion_laughs_docx() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    doctype = f"<!DOCTYPE w:document [{''.join(entities)}]>"
    return docx_with_body("<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>", doctype=doctype)


@functools.cache
def zip_bomb_docx(gibibytes: int = 1) -> bytes:
    """A DOCX with one extra member that really inflates to ``gibibytes`` GiB of zeros, in 1 MB.

    Deflating a gigabyte takes seconds, so it is not done: after a full flush a deflate stream
    starts afresh, so every 1 MiB chunk of zeros deflates to the same bytes, repeated here.
    """
    chunk = bytes(MIB)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = deflater.compress(chunk) + deflater.flush(zlib.Z_FULL_FLUSH)
    chunks = gibibytes * 1024
    crc = functools.reduce(lambda crc, _: zlib.crc32(chunk, crc), range(chunks), 0)
    bomb = ("word/media/image1.png", block * chunks + deflater.flush(zlib.Z_FINISH), crc, chunks * MIB)
    members = [_deflated(name, data) for name, data in docx_members(make_docx(LEASE)).items()]
    return _raw_zip([*members, bomb])


def _deflated(name: str, data: bytes) -> tuple[str, bytes, int, int]:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, deflater.compress(data) + deflater.flush(), zlib.crc32(data), len(data)


def _raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of already deflated members ``(name, deflated, crc32, size)`` (sizes under 4 GiB)."""
    out, directory = bytearray(), bytearray()
    for name, deflated, crc, size in members:
        encoded = name.encode()
        common = struct.pack("<HHHHHIIIH", 20, 0, 8, 0, 0x21, crc, len(deflated), size, len(encoded))
        directory += (
            struct.pack("<IH", 0x02014B50, 20) + common + struct.pack("<HHHHII", 0, 0, 0, 0, 0, len(out))
        )
        directory += encoded
        out += struct.pack("<I", 0x04034B50) + common + struct.pack("<H", 0) + encoded + deflated
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), len(out), 0)
    return bytes(out + directory + end)


# --- PDF ------------------------------------------------------------------------------------

CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (numbered from 1; the first is the catalog) with a correct xref."""
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def one_page_pdf(content: bytes) -> bytes:
    """One page whose content stream (deflated) is ``content``."""
    packed = zlib.compress(content, 9)
    return raw_pdf(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed),
            HELVETICA,
        ]
    )


def page_tree_loop_pdf() -> bytes:
    """Two page-tree nodes, each the other's only kid."""
    return raw_pdf(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        ]
    )


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(LEASE))))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def slow_pdf(operations: int = 200_000) -> bytes:
    """A 6 KB PDF whose one page shows ``operations`` words: about 6 s of pypdf's CPU time."""
    return one_page_pdf(b"BT /F1 10 Tf " + b"(ab) Tj 1 0 Td " * operations + b"ET")


def memory_hungry_pdf() -> bytes:
    """A 60 KB PDF whose page's content stream inflates to 60 MB."""
    return one_page_pdf(b" " * 60_000_000)


def pdf_that_warns(times: int) -> bytes:
    """One page saying "Payment within 30 days" whose dictionary repeats a key ``times`` times:
    pypdf reads it, warning once for each repetition after the first."""
    content = zlib.compress(b"BT /F1 10 Tf 40 700 Td (Payment within 30 days) Tj ET")
    repeated = b" ".join(b"/Rotate 0" for _ in range(times))
    return raw_pdf(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> %s >>" % repeated,
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(content), content),
            HELVETICA,
        ]
    )


def pdf_with_wrong_startxref() -> bytes:
    """The lease, its ``startxref`` off by a few bytes: pypdf warns, finds the xref, reads it all."""
    data = make_pdf(LEASE)
    start = data.rindex(b"startxref\n") + len(b"startxref\n")
    end = data.index(b"\n", start)
    return data[:start] + b"%d" % (int(data[start:end]) - 7) + data[end:]
