"""Writes the example contracts that are not plain text: ``lease.pdf`` and ``nda.docx``.

    .venv/bin/python examples/make_examples.py

Their texts are here, in plain sight (fictional, written for this project; see README.md). The
PDF is made with pypdf and the Word file with python-docx, both dependencies of the service, so
that nothing else is needed to make them again. The PDF carries its text as a real text layer
(Helvetica, a page or two), as an exported contract does; it is not a scan.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import docx
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

HERE = Path(__file__).resolve().parent
#: US Letter in points; the text starts 40 pt from the left and 52 pt from the top.
PAGE_WIDTH, PAGE_HEIGHT = 612, 792
LINES_PER_PAGE = 58
CHARACTERS_PER_LINE = 92

LEASE = """COMMERCIAL LEASE AGREEMENT

This Lease is made on 1 April 2025 between Harbourside Estates Ltd, a company registered in England
and Wales (the "Landlord"), and Quillfeather Analytics Ltd, a company registered in England and
Wales (the "Tenant").

1. Premises. The Landlord lets to the Tenant the office space on the second floor of 14 Wharf
Road, Bristol, with the right to use two parking spaces (the "Premises").

2. Term. The Lease runs for five years from 1 April 2025. The Tenant may renew it once for a
further five years by giving written notice at least six months before the end of the term.

3. Rent and payment. The Tenant shall pay an annual rent of GBP 48,000 in equal monthly
instalments in advance on the first day of each month. The Tenant shall pay each invoice for
service charges within 30 days of the invoice date. Late payments carry interest at 4% a year
above the Bank of England base rate.

4. Rent review. The rent is reviewed on the third anniversary of the start of the term to the open
market rent, and shall not decrease.

5. Deposit. The Tenant shall pay a security deposit of three months' rent, held by the Landlord
and returned within 30 days of the end of the Lease, less any sums properly due.

6. Use. The Tenant shall use the Premises as offices only and shall not cause a nuisance.

7. Repairs and insurance. The Tenant shall keep the interior of the Premises in good repair. The
Landlord shall insure the building against fire and other usual risks and repair its structure.

8. Assignment and subletting. The Tenant shall not assign or sublet the Premises without the prior
written consent of the Landlord, which shall not be unreasonably withheld.

9. Termination. The Tenant may terminate this Lease on the third anniversary of the start of the
term by giving at least six months' written notice. The Landlord may terminate this Lease if the
rent is unpaid for 21 days after it is due or the Tenant commits a material breach that it fails
to remedy within 30 days of being notified of it.

10. Confidentiality. Each party shall keep confidential the terms of this Lease and any
confidential information about the other party that it receives, except as required by law.

11. Limitation of liability. The Landlord's total liability under this Lease in any year shall not
exceed the rent paid in that year. In no event will either party be liable for any loss of
profits or for any indirect or consequential loss.

12. Governing law and jurisdiction. This Lease is governed by the laws of England and Wales, and
the courts of England and Wales have exclusive jurisdiction over any dispute arising out of it.

Signed for Harbourside Estates Ltd: ____________________

Signed for Quillfeather Analytics Ltd: ____________________
"""

NDA = """MUTUAL NON-DISCLOSURE AGREEMENT

This Agreement is made on 10 February 2025 between Northgate Robotics Ltd, a company registered in
England and Wales, and Fenwick Medical Devices Ltd, a company registered in England and Wales (each
a "Party"), who wish to discuss a possible joint development of surgical robots (the "Purpose").

1. Confidential information. "Confidential Information" means all information disclosed by one
Party to the other in connection with the Purpose, in any form, that is marked as confidential or
that a reasonable person would understand to be confidential.

2. Obligations. Each Party shall keep the other Party's Confidential Information confidential,
use it only for the Purpose, and disclose it only to those of its employees and advisers who need
to know it for the Purpose and are bound by duties of confidentiality no less strict than these.

3. Exceptions. These obligations do not apply to information that is or becomes public other than
through a breach of this Agreement, that the receiving Party already lawfully held, or that it
must disclose by law or by order of a court, after notifying the other Party where it may.

4. Personal data. Any personal data exchanged shall be processed in line with the UK GDPR and the
Data Protection Act 2018.

5. Return of information. On written request, and in any case on termination, each Party shall
return or destroy the other Party's Confidential Information within 14 days.

6. Term and termination. This Agreement lasts for two years from its date. Either Party may
terminate it on 30 days written notice. The obligations of confidentiality survive termination
for five years.

7. No licence. No licence of any patent, copyright or other intellectual property right is granted
by this Agreement.

8. Remedies. Each Party acknowledges that damages alone may not be an adequate remedy for a breach
of this Agreement and that the other Party may seek an injunction.

9. Limitation of liability. Each Party's total liability under this Agreement shall not exceed GBP
250,000. In no event will either Party be liable for any indirect or consequential loss.

10. Governing law and jurisdiction. This Agreement is governed by the laws of England and Wales,
and the courts of London have exclusive jurisdiction over any dispute arising out of it.

Signed for Northgate Robotics Ltd: ____________________

Signed for Fenwick Medical Devices Ltd: ____________________
"""


def pdf_of(text: str) -> bytes:
    """A PDF whose pages carry ``text`` as a Helvetica text layer, wrapped to the page's width."""
    writer = PdfWriter()
    font = writer._add_object(  # the standard Type 1 Helvetica: no font file to embed
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
                # Latin-1's code points as they are (the standard encoding makes ' a curly quote)
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
    )
    lines = [
        piece
        for paragraph in text.split("\n\n")
        for piece in [*textwrap.wrap(" ".join(paragraph.split()), CHARACTERS_PER_LINE), ""]
    ]
    for start in range(0, len(lines), LINES_PER_PAGE):
        page = writer.add_blank_page(PAGE_WIDTH, PAGE_HEIGHT)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        operations = [f"BT /F1 10 Tf 12 TL 40 {PAGE_HEIGHT - 52} Td"]
        for line in lines[start : start + LINES_PER_PAGE]:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operations.append(f"({escaped}) Tj T*")
        operations.append("ET")
        content = DecodedStreamObject()
        content.set_data("\n".join(operations).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata({"/Title": text.splitlines()[0].title(), "/Producer": "examples/make_examples.py"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_of(text: str) -> bytes:
    """A Word document: the first paragraph a title, every other one a paragraph of its own."""
    document = docx.Document()
    title, *paragraphs = text.split("\n\n")
    document.add_heading(title.strip(), level=1)
    for paragraph in paragraphs:
        document.add_paragraph(" ".join(paragraph.split()))
    document.core_properties.title = title.strip().title()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def main() -> None:
    (HERE / "lease.pdf").write_bytes(pdf_of(LEASE))
    (HERE / "nda.docx").write_bytes(docx_of(NDA))


if __name__ == "__main__":
    main()
