"""Text extraction in a sandboxed child: valid documents read as before, hostile ones fail with a
reason and cost the calling process nothing, and each limit (CPU, memory, wall clock) names itself.

No Redis and no mocks: every test starts real child processes, from this process, as a worker does.
"""

from __future__ import annotations

import ctypes
import gc
import io
import logging
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from extraction import (
    ExtractedText,
    ExtractionFailed,
    ExtractionLimits,
    Unreadable,
    UnsupportedType,
    content_type_of,
    extract,
)

from .support.contracts import LEASE, NDA, SUPPLY, make_docx, make_pdf
from .support.hostile_documents import (
    CORPUS_LIMITS,
    HostileDocument,
    corpus,
    gridspan_bomb_docx,
    memory_hungry_pdf,
    pdf_that_warns,
    pdf_with_wrong_startxref,
    slow_pdf,
    zip_bomb_docx,
)
from .support.servers import wait_until

MIB = 1024 * 1024


def normalised(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def failure_of(filename: str, data: bytes, limits: ExtractionLimits = CORPUS_LIMITS) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as raised:
        extract(filename, data, limits=limits)
    return raised.value


def rss_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))


# --- Valid documents ----------------------------------------------------------------------------


def test_text_and_markdown_read_as_before() -> None:
    assert extract("nda.txt", NDA.encode()) == ExtractedText(text=normalised(NDA), content_type="text/plain")
    windows = "# Terms\r\n\r\nCaf\xe9 fees   \r\nare due.\r\n".encode("cp1252")
    assert extract("terms.md", windows).text == "# Terms\n\nCaf\xe9 fees\nare due."
    assert extract("bom.TXT", b"\xef\xbb\xbfsigned").text == "signed"


def test_pdf_reads_as_pypdf_reads_it() -> None:
    data = make_pdf(LEASE * 5)
    pages = PdfReader(io.BytesIO(data)).pages
    before = "\n\n".join(page.extract_text() for page in pages)
    extracted = extract("lease.pdf", data)
    assert extracted.text == normalised(before) and "Limitation of liability" in extracted.text
    assert (extracted.content_type, extracted.pages, extracted.warnings) == ("application/pdf", len(pages), 0)
    assert len(pages) > 1


def test_docx_reads_its_paragraphs_as_before() -> None:
    extracted = extract("supply.docx", make_docx(SUPPLY))
    paragraphs = [" ".join(paragraph.split()) for paragraph in SUPPLY.split("\n\n")]
    assert extracted.text == normalised("\n\n".join(paragraphs))
    assert extracted.content_type == content_type_of("supply.docx") and extracted.pages is None


def test_docx_tables_are_read_in_document_order_each_cell_once() -> None:
    document = docx.Document()
    document.add_paragraph("Before the table.")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Spanning two columns"  # one w:tc, gridSpan 2
    table.cell(0, 2).text = "Fee"
    table.cell(1, 0).text = "a"
    table.cell(1, 1).add_paragraph("second paragraph")
    table.cell(1, 2).text = "c"
    document.add_table(rows=1, cols=2)  # all blank: no row of bare pipes
    document.add_paragraph("After the table.")
    buffer = io.BytesIO()
    document.save(buffer)
    assert extract("table.docx", buffer.getvalue()).text == (
        "Before the table.\n\nSpanning two columns | Fee\n\na |\nsecond paragraph | c\n\nAfter the table."
    )


def test_a_gridspan_bomb_with_text_costs_nothing() -> None:
    # 40 x 40 cells each spanning 25,000 columns: 40 million cells to python-docx's row.cells.
    extracted = extract(
        "grid.docx", gridspan_bomb_docx(cell_text="cell"), limits=ExtractionLimits(cpu_seconds=1)
    )
    assert extracted.text == "\n\n".join([" | ".join(["cell"] * 40)] * 40)


# --- Hostile documents --------------------------------------------------------------------------


@pytest.mark.parametrize("document", corpus(), ids=lambda document: f"{document.filename}: {document.name}")
def test_a_hostile_document_fails_with_its_reason(document: HostileDocument) -> None:
    failure = failure_of(document.filename, document.data)
    expected = UnsupportedType if document.filename.endswith(".exe") else Unreadable
    assert type(failure) is expected
    assert document.reason in failure.reason and failure.filename == document.filename
    assert str(failure) == f"{document.filename}: {failure.reason}"


def test_the_whole_corpus_costs_this_process_no_memory() -> None:
    documents = corpus()  # built first: making the bombs is the test's cost, not extraction's
    gc.collect()
    before = rss_bytes()
    for document in documents:
        with pytest.raises(ExtractionFailed):
            extract(document.filename, document.data, limits=CORPUS_LIMITS)
    gc.collect()
    assert rss_bytes() - before < 50 * MIB


def test_an_unsupported_type_is_refused_without_starting_a_child() -> None:
    # Any child would outlive this timeout: only a refusal made in this process can answer.
    no_time = ExtractionLimits(timeout=1e-9)
    assert type(failure_of("notes.odt", b"x", no_time)) is UnsupportedType
    assert type(failure_of("README", b"x", no_time)) is UnsupportedType
    assert "took longer than" in failure_of("notes.txt", b"x", no_time).reason


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cpu_seconds"):
        ExtractionLimits(cpu_seconds=0)
    with pytest.raises(ValueError, match="max_zip_ratio"):
        ExtractionLimits(max_zip_ratio=-1)


# --- The child's limits -------------------------------------------------------------------------


def children() -> list[int]:
    """This process's child processes."""
    found = subprocess.run(["pgrep", "-P", str(os.getpid())], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


class Interrupted(BaseException):
    """What a cancelled job's thread receives (the worker raises it into the thread)."""


def test_an_interrupt_of_the_reading_thread_stops_its_child_at_once() -> None:
    ended: dict[str, object] = {}

    def read() -> None:
        try:
            extract("slow.pdf", slow_pdf(), limits=ExtractionLimits(cpu_seconds=30, timeout=60))
        except BaseException as exc:
            ended["by"] = exc

    before = set(children())
    reader = threading.Thread(target=read)
    reader.start()
    wait_until(lambda: set(children()) - before, timeout=10, what="the reading child")
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(reader.ident), ctypes.py_object(Interrupted))
    reader.join(timeout=5)  # the child alone would read for about 6 s of CPU
    assert not reader.is_alive() and isinstance(ended.get("by"), Interrupted), ended
    assert set(children()) <= before, "the child was killed and reaped"


def test_the_cpu_limit_kills_the_child_and_names_itself() -> None:
    failure = failure_of("slow.pdf", slow_pdf(), ExtractionLimits(cpu_seconds=1))  # ~6 s of CPU otherwise
    assert type(failure) is Unreadable and failure.reason == "reading it took more than 1 s of CPU"


def test_the_wall_clock_limit_kills_the_child_and_names_itself() -> None:
    failure = failure_of("slow.pdf", slow_pdf(), ExtractionLimits(timeout=0.5))
    assert type(failure) is Unreadable and failure.reason == "reading it took longer than 0.5 s"


def test_the_memory_limit_stops_the_child_and_names_itself() -> None:
    data = memory_hungry_pdf()
    failure = failure_of("big.pdf", data, ExtractionLimits(memory_bytes=64 * MIB))
    assert type(failure) is Unreadable and failure.reason == "reading it needed more than 64 MiB of memory"
    # With room, the same file is read to the end (its 60 MB are blanks).
    assert "no text could be extracted" in failure_of("big.pdf", data, ExtractionLimits()).reason


def test_the_zip_bomb_is_refused_from_its_declarations_without_unpacking() -> None:
    failure = failure_of("bomb.docx", zip_bomb_docx(), ExtractionLimits(memory_bytes=64 * MIB, cpu_seconds=1))
    assert "unpacks to 1,025 MiB, more than 200 MiB" in failure.reason


# --- What the parent logs -----------------------------------------------------------------------


def test_pypdf_warnings_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        extracted = extract("warns.pdf", pdf_that_warns(1000))
    assert extracted.text == "Payment within 30 days"
    assert extracted.warnings == 999 and "Multiple definitions in dictionary" in (
        extracted.first_warning or ""
    )
    noticed = [record for record in caplog.records if record.levelno >= logging.INFO]
    assert len(noticed) == 1 and noticed[0].name == "extraction"
    assert "warned 999 times" in noticed[0].getMessage()
    assert not [record for record in caplog.records if record.name.startswith("pypdf")]


def test_a_pdf_pypdf_repairs_is_read_with_its_warnings() -> None:
    extracted = extract("repaired.pdf", pdf_with_wrong_startxref())
    assert "Limitation of liability" in extracted.text
    assert extracted.warnings > 0 and "startxref" in (extracted.first_warning or "")


@pytest.mark.parametrize(
    ("exit_code", "stdout"), [(1, b'{"outcome": "text"}'), (0, b"not json"), (0, b'["outcome"]')]
)
def test_a_child_that_answers_garbage_is_the_reader_failing(
    exit_code: int,
    stdout: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The child's PYTHONPATH keeps the parent's after the package's own root: a sitecustomize there
    # runs before the reader and stands in for a reader that crashes or prints garbage.
    (tmp_path / "sitecustomize.py").write_text(
        f"import os, sys\nsys.stderr.write('the reader broke down\\n')\nos.write(1, {stdout!r})\n"
        f"sys.stdout.flush()\nos._exit({exit_code})\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="extraction"):
        failure = failure_of("lease.pdf", make_pdf(LEASE))
    assert type(failure) is Unreadable and failure.reason == "the reader failed"
    [logged] = caplog.records
    assert (
        "the reader broke down" in logged.getMessage() and f"exit status {exit_code}" in logged.getMessage()
    )


def test_the_child_runs_from_any_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", "/nowhere")
    assert extract("nda.txt", NDA.encode()).text == normalised(NDA)


# --- Many callers -------------------------------------------------------------------------------


def test_eight_threads_at_once_each_get_their_own_answer() -> None:
    cases: list[tuple[str, bytes, str]] = [
        ("lease.pdf", make_pdf(LEASE), "Limitation of liability"),
        ("supply.docx", make_docx(SUPPLY), "Force majeure"),
        ("nda.txt", NDA.encode(), "arbitration in London"),
        ("nda.md", NDA.encode(), "MUTUAL NON-DISCLOSURE"),
        *((document.filename, document.data, document.reason) for document in corpus()[:12]),
    ]
    threads_seen: set[int] = set()

    def outcome(case: tuple[str, bytes, str]) -> str | None:
        """None when the answer is the case's own; otherwise what came instead."""
        threads_seen.add(threading.get_ident())
        filename, data, expected = case
        try:
            text = extract(filename, data, limits=CORPUS_LIMITS).text
            return None if expected in text else f"{filename}: text without {expected!r}"
        except ExtractionFailed as failure:
            return None if expected in failure.reason else f"{filename}: {failure.reason!r}, not {expected!r}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        wrong = [answer for answer in pool.map(outcome, cases * 2) if answer is not None]
    assert wrong == []
    assert len(threads_seen) > 1
