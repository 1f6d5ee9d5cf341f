"""Contract documents made by the tests: plain text, a PDF (written with pypdf) and a DOCX
(written with python-docx), the same libraries the service reads them with."""

from __future__ import annotations

import io
import textwrap

import docx
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

LEASE = """MASTER SERVICES AGREEMENT

1. Payment. The Customer shall pay every invoice within 30 days of the invoice date. Late payments
carry interest at 1% per month.

2. Term and termination. Either party may terminate this Agreement on 60 days written notice.

3. Confidentiality. Each party shall keep the other's confidential information secret.

4. Governing law. This Agreement is governed by the laws of England and Wales.

5. Limitation of liability. In no event shall either party's aggregate liability exceed the fees
paid in the twelve months before the claim.

6. Renewal. This Agreement renews automatically for successive one-year terms.
"""

SUPPLY = """SUPPLY AGREEMENT

1. Delivery. The Supplier shall deliver the goods to the Customer's warehouse.

2. Quality. Goods shall conform to the specification agreed in writing.

3. Force majeure. Neither party is liable for delays caused by events beyond its reasonable control.

4. Assignment. Neither party may assign this Agreement without the other's consent.
"""

NDA = """MUTUAL NON-DISCLOSURE AGREEMENT

1. Confidential information. Each party shall protect the confidential information it receives.

2. Personal data. Personal data shall be processed in line with data protection law (GDPR).

3. Disputes. Any dispute shall be settled by arbitration in London.
"""


def make_pdf(text: str) -> bytes:
    """A real PDF whose pages carry ``text`` as a Helvetica text layer (60 lines a page)."""
    writer = PdfWriter()
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    lines = [piece for line in text.splitlines() for piece in (textwrap.wrap(line, 95) or [""])]
    for start in range(0, len(lines), 60):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        operations = ["BT /F1 10 Tf 12 TL 40 760 Td"]
        for line in lines[start : start + 60]:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operations.append(f"({escaped}) Tj T*")
        operations.append("ET")
        content = DecodedStreamObject()
        content.set_data("\n".join(operations).encode("latin-1", "replace"))
        page[NameObject("/Contents")] = writer._add_object(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx(text: str) -> bytes:
    document = docx.Document()
    for paragraph in text.split("\n\n"):
        document.add_paragraph(" ".join(paragraph.split()))
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


#: A workspace every test may score or audit: a PDF, a DOCX and a text contract. Here rather than
#: in a fixture module, so that ``tests/conftest.py`` can offer it without importing ``actors``.
WORKSPACE = "acme"
WORKSPACE_FILES = [
    ("lease.pdf", make_pdf(LEASE)),
    ("supply.docx", make_docx(SUPPLY)),
    ("nda.txt", NDA.encode()),
]
