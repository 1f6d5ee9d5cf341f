"""The README's first steps, run as written (only the address of the test's server differs) with
bash and curl against a live web server and worker: a newcomer's first commands must work."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

from .support.api import new_key
from .support.contracts import LEASE, NDA, make_docx, make_pdf
from .support.servers import REPO_ROOT, ServiceProcess, WebServer

README_ADDRESS = "http://127.0.0.1:8000"


def first_steps_block() -> str:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## First steps") :]
    found = re.search(r"```bash\n(.*?)```", section, re.S)
    assert found is not None, "the first steps have a bash block"
    return found.group(1)


def test_the_readmes_first_steps_run_as_written(
    web: WebServer, workers: ServiceProcess, tmp_path: Path
) -> None:
    (tmp_path / "var").mkdir()
    # A tenant of its own, so that its workspace "acme" is new.
    (tmp_path / "var" / "local-key").write_text(new_key(web, f"readme-{uuid.uuid4().hex[:8]}"))
    (tmp_path / "lease.pdf").write_bytes(make_pdf(LEASE))
    (tmp_path / "nda.docx").write_bytes(make_docx(NDA))
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
    assert '"filename":"lease.pdf"' in out and '"filename":"nda.docx"' in out, out
    # The stream starts from the job's state when it opens (a fast job may have finished by then).
    assert "event: status" in out, "the stream sent the job's state"
    assert out.count('"status":"SUCCESS"') >= 3, "the stream, the poll and the cancel saw it finished"
    # The job finished before the cancel, as the README's comment says it may.
    assert json.loads(out.splitlines()[-1])["error"]["code"] == "job_finished"
    assert out.count('"error":{') == 1, "no other command was answered with an error"
