"""The README's first steps, run as written (only the address of the test's server differs) with
bash and curl against a live web server and worker, on the example contracts the repository
ships: a newcomer's first commands must work. And those examples: the service reads each back."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from examples.make_examples import LEASE, NDA
from extraction.model import ExtractionLimits
from extraction.readers import read_document

from .support.api import new_key
from .support.servers import REPO_ROOT, ServiceProcess, WebServer

README_ADDRESS = "http://127.0.0.1:8000"
EXAMPLES = REPO_ROOT / "examples"
EXAMPLE_FILES = ("lease.pdf", "nda.docx", "services-agreement.txt")


def first_steps_block() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## First steps") :]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found is not None, "the first steps have a bash block"
    return found.group(1)


def test_the_readmes_first_steps_run_as_written(
    web: WebServer, workers: ServiceProcess, tmp_path: Path
) -> None:
    # The repository root as a clone has it: the examples, and var/local-key (here a key of a
    # tenant of its own, so that its workspace "acme" is new).
    (tmp_path / "examples").symlink_to(EXAMPLES)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "local-key").write_text(new_key(web, f"readme-{uuid.uuid4().hex[:8]}"))
    block = first_steps_block()
    assert README_ADDRESS in block
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.replace(README_ADDRESS, web.base_url)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    for name in EXAMPLE_FILES:
        assert f'"filename":"{name}"' in out, f"{name} was uploaded and read: {out}"
    # The stream starts from the job's state when it opens (a fast job may have finished by then).
    assert "event: status" in out, "the stream sent the job's state"
    assert out.count('"status":"SUCCESS"') >= 3, "the stream, the poll and the cancel saw it finished"
    # The job finished before the cancel, as the README says it has.
    assert json.loads(out.splitlines()[-1])["error"]["code"] == "job_finished"
    assert out.count('"error":{') == 1, "no other command was answered with an error"


@pytest.mark.parametrize(
    ("name", "phrases"),
    [
        (
            "lease.pdf",
            ["COMMERCIAL LEASE AGREEMENT", "within 30 days of the invoice date", "laws of England"],
        ),
        ("nda.docx", ["MUTUAL NON-DISCLOSURE AGREEMENT", "Confidential Information", "courts of London"]),
        ("services-agreement.txt", ["MASTER SERVICES AGREEMENT", "shall not exceed", "Force majeure"]),
    ],
)
def test_the_service_reads_each_example_contract_back(name: str, phrases: list[str]) -> None:
    read = read_document(name, (EXAMPLES / name).read_bytes(), ExtractionLimits())
    text = " ".join(read.text.split())
    assert read.warnings == 0
    for phrase in phrases:
        assert phrase in text, f"{name} lost {phrase!r}"
    assert 1500 < len(text) < 6000, "a page or two"
    if read.pages is not None:
        assert read.pages <= 2


def test_the_committed_examples_are_the_generators_texts() -> None:
    """lease.pdf and nda.docx say what examples/make_examples.py says they do (made again after
    an edit)."""
    for name, source in (("lease.pdf", LEASE), ("nda.docx", NDA)):
        read = read_document(name, (EXAMPLES / name).read_bytes(), ExtractionLimits())
        assert read.text.split() == source.split(), f"{name} differs from its text: run make_examples.py"
