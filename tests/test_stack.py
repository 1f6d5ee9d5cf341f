"""The README's first command: the whole stack from ``deploy/stack.py`` with an embedded Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore

from .support.api import bearer, finished_now
from .support.contracts import NDA
from .support.servers import REPO_ROOT, STARTUP_TIMEOUT, RedisServer, WebServer, free_port, wait_until


def worker_running(base_url: str, key_file: Path) -> bool:
    """The stack is up: its web server made the local key, and sees a live worker with it."""
    if not key_file.exists():
        return False
    try:
        status = httpx.get(
            f"{base_url}/worker/status", headers=bearer(key_file.read_text().strip()), timeout=2
        )
        return status.json().get("status") == "running"
    except (httpx.HTTPError, ValueError):
        return False


@pytest.mark.slow
def test_the_stack_runs_a_job_end_to_end_and_stops_cleanly(tmp_path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    state = tmp_path / "state"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "JOB_MODULES", "ADMIN_TOKEN")}
    env["STATE_DIR"] = str(state)  # nothing configured, as on a fresh machine; its files go here
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
            lambda: stack.poll() is None and worker_running(base_url, state / "local-key"),
            timeout=STARTUP_TIMEOUT * 2,
            what="the stack's worker",
        )
        key = (state / "local-key").read_text().strip()
        assert httpx.get(f"{base_url}/jobs").status_code == 401, "secure with nothing configured"
        files = {"file": ("nda.txt", NDA.encode())}
        upload = httpx.post(f"{base_url}/workspaces/w/documents", files=files, headers=bearer(key))
        assert upload.status_code == 202, upload.text
        extraction = finished_now(base_url, upload.json()["job_id"], bearer(key))
        assert extraction["status"] == "SUCCESS", extraction
        body = {"criterion": "c", "workspace_name": "w"}
        response = httpx.post(f"{base_url}/score", json=body, headers=bearer(key), timeout=30)
        assert response.status_code == 200 and response.json()["status"] == "SUCCESS"
        admin = (state / "admin-token").read_text().strip()
        assert httpx.get(f"{base_url}/metrics", headers=bearer(admin)).status_code == 200
    finally:
        stack.send_signal(signal.SIGTERM)
        returncode = stack.wait(30)
        log.close()
    output = (tmp_path / "stack.log").read_text()
    assert returncode == 0, output
    assert "(embedded)" in output and f"http://127.0.0.1:{port}" in output
    assert f"Log in to the dashboard: http://127.0.0.1:{port}/#key={key}" in output
    assert (state / "local-key").stat().st_mode & 0o077 == 0, "the key file is its owner's alone"
    assert any((tmp_path / "redis").rglob("appendonly*")), "the embedded Redis persists to its data folder"
    assert "Registered periodic actors" in output, "the scheduler ran"
    with pytest.raises(httpx.ConnectError):  # the web server went with the stack
        httpx.get(f"{base_url}/healthz", timeout=1)


def test_the_plain_hypercorn_command_serves_the_app(
    redis_server: RedisServer, job_store: JobStore, api_key: str
) -> None:
    job_id = str(uuid.uuid4())
    job_store.create(job_id, "score_contracts")
    job_store.transition(job_id, JobStatus.SUCCESS, result=None)
    server = WebServer(redis_server, plain_hypercorn=True)
    try:
        url = f"{server.base_url}/jobs/{job_id}/events"
        with httpx.stream("GET", url, headers=bearer(api_key), timeout=10) as response:
            body = response.read().decode()
        assert response.status_code == 200 and '"status":"SUCCESS"' in body
    finally:
        server.stop()
