"""The README's first command: the whole stack from ``deploy/stack.py`` with an embedded Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import httpx
import pytest

from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.contracts import NDA
from .support.servers import REPO_ROOT, STARTUP_TIMEOUT, RedisServer, WebServer, free_port, wait_until


def worker_running(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/worker/status", timeout=2).json().get("status") == "running"
    except (httpx.HTTPError, ValueError):
        return False


@pytest.mark.slow
def test_the_stack_runs_a_job_end_to_end_and_stops_cleanly(tmp_path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "JOB_MODULES")}
    log = (tmp_path / "stack.log").open("wb")
    stack = subprocess.Popen(
        [
            sys.executable,
            "deploy/stack.py",
            "--embedded",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "redis"),
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: stack.poll() is None and worker_running(base_url),
            timeout=STARTUP_TIMEOUT * 2,
            what="the stack's worker",
        )
        upload = httpx.post(f"{base_url}/workspaces/w/documents", files={"file": ("nda.txt", NDA.encode())})
        assert upload.status_code == 201, upload.text
        response = httpx.post(f"{base_url}/score", json={"criterion": "c", "workspace_name": "w"}, timeout=30)
        assert response.status_code == 200 and response.json()["status"] == "SUCCESS"
    finally:
        stack.send_signal(signal.SIGTERM)
        returncode = stack.wait(30)
        log.close()
    output = (tmp_path / "stack.log").read_text()
    assert returncode == 0, output
    assert "(embedded)" in output and f"http://127.0.0.1:{port}" in output
    assert any((tmp_path / "redis").rglob("appendonly*")), "the embedded Redis persists to its data folder"
    assert "Registered periodic actors" in output, "the scheduler ran"
    with pytest.raises(httpx.ConnectError):  # the web server went with the stack
        httpx.get(f"{base_url}/healthz", timeout=1)


def test_the_plain_hypercorn_command_serves_the_app(redis_server: RedisServer, job_store: JobStore) -> None:
    job_id = str(uuid.uuid4())
    job_store.create(job_id, "score_contracts")
    job_store.transition(job_id, JobStatus.SUCCESS, result=None)
    server = WebServer(redis_server, plain_hypercorn=True)
    try:
        with httpx.stream("GET", f"{server.base_url}/jobs/{job_id}/events", timeout=10) as response:
            body = response.read().decode()
        assert response.status_code == 200 and '"status":"SUCCESS"' in body
    finally:
        server.stop()
