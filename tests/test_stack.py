"""The README's first command: the whole stack from ``deploy/stack.py`` with an embedded Redis; and
the stack restarting a worker or scheduler that died (killed, or the scheduler exiting in a Redis
outage) while it goes on serving.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from actors.jobs.keys import WORKERS
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore
from deploy.stack import RESTART_RESET_AFTER_S, restart_delay

from .support.api import bearer, finished_now, new_key
from .support.contracts import NDA
from .support.servers import (
    REPO_ROOT,
    STARTUP_TIMEOUT,
    RedisServer,
    WebServer,
    free_port,
    redis_running,
    service_env,
    wait_until,
)


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
        extraction_id = upload.json()["job_id"]
        extraction = finished_now(base_url, extraction_id, bearer(key))
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
    # The README's logging section: a start is an INFO line, with its attempt.
    assert f"[INFO] Job {extraction_id} started type=extract_documents attempt=1" in output
    with pytest.raises(httpx.ConnectError):  # the web server went with the stack
        httpx.get(f"{base_url}/healthz", timeout=1)


def test_the_plain_hypercorn_command_serves_the_app(
    redis_server: RedisServer, job_store: JobStore, api_key: str
) -> None:
    job_id = str(uuid.uuid4())
    job_store.create(JobRef(job_id), "score_contracts")
    job_store.transition(JobRef(job_id), JobStatus.SUCCESS, result=None)
    server = WebServer(redis_server, plain_hypercorn=True)
    try:
        url = f"{server.base_url}/jobs/{job_id}/events"
        with httpx.stream("GET", url, headers=bearer(api_key), timeout=10) as response:
            body = response.read().decode()
        assert response.status_code == 200 and '"status":"SUCCESS"' in body
    finally:
        server.stop()


def test_one_process_with_its_own_worker_runs_jobs_like_the_guides_worker_thread() -> None:
    with redis_running() as redis_server:  # its own: no other worker may take the jobs
        server = WebServer(redis_server, args=("--with-worker", "2"))
        try:
            headers = bearer(new_key(server))
            status = httpx.get(f"{server.base_url}/worker/status", headers=headers, timeout=10).json()
            assert status["worker_thread_alive"] is True and status["status"] == "running", status
            assert [w["threads"] for w in status["workers"]] == [2]
            posted = httpx.post(
                f"{server.base_url}/jobs/quick_steps", json={"steps": 2}, headers=headers, timeout=10
            )
            assert finished_now(server.base_url, posted.json()["job_id"], headers)["status"] == "SUCCESS"
            files = [("file", ("nda.txt", NDA.encode()))]
            uploaded = httpx.post(
                f"{server.base_url}/workspaces/solo/documents", files=files, headers=headers, timeout=30
            )
            assert finished_now(server.base_url, uploaded.json()["job_id"], headers)["status"] == "SUCCESS"
            # The guide's synchronous call: answered by this process's own worker, not left hanging.
            scored = httpx.post(
                f"{server.base_url}/score",
                json={"criterion": "confidential information", "workspace_name": "solo", "max_score": 10},
                headers=headers,
                timeout=60,
            )
            assert scored.status_code == 200 and scored.json()["status"] == "SUCCESS", scored.text
            assert len(scored.json()["result"]["contracts"]) == 1
        finally:
            server.stop()
        assert server.process.returncode == 0, server.log_tail()
        assert not redis_server.client().zrange(WORKERS, 0, -1), "the worker unregistered on shutdown"


def test_the_restart_pause_doubles_up_to_30_s_and_starts_over_after_a_long_run() -> None:
    pauses = [0.0]
    for _ in range(7):
        pauses.append(restart_delay(pauses[-1], ran_for=2))
    assert pauses[1:] == [1, 2, 4, 8, 16, 30, 30]
    assert restart_delay(30, ran_for=RESTART_RESET_AFTER_S) == 1


class RunningStack:
    """``deploy/stack.py`` on a Redis of the test's own (``REDIS_URL``), its output in a log file."""

    def __init__(self, redis_server: RedisServer, tmp_path: Path) -> None:
        self.port = free_port()
        self.log_path = tmp_path / "stack.log"
        self._log = self.log_path.open("wb")
        env = {**os.environ, **service_env(redis_server.url, STATE_DIR=str(tmp_path / "state"))}
        self.process = subprocess.Popen(
            [sys.executable, "deploy/stack.py", "--port", str(self.port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def serving(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the stack exited with {self.process.returncode}:\n{self.log()}")
        return True

    def child_pid(self, name: str) -> int | None:
        """The live ``name`` ("worker" or "scheduler") this stack started, found in /proc rather
        than in what the stack says."""
        program = CHILD_PROGRAMS[name]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                command = (stat.parent / "cmdline").read_bytes()  # empty for a zombie
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.process.pid and program in command:
                return int(stat.parent.name)
        return None

    def stop(self) -> int:
        """SIGTERM, as an operator stops it; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        finally:
            self._log.close()


#: What tells the stack's children apart in their command lines (the web server's is service.serve).
CHILD_PROGRAMS = {"worker": b"dramatiq", "scheduler": b"periodiq"}

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds processes in /proc")


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis this test alone uses, and may stop and start again."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def wait_for_children(stack: RunningStack) -> None:
    """Until the stack serves, its worker processes are ready and its scheduler has started."""

    def up() -> bool:
        log = stack.log()
        return (
            stack.alive()
            and stack.serving()
            and all(stack.child_pid(name) is not None for name in CHILD_PROGRAMS)
            and "Worker process is ready for action" in log
            and "Registered periodic actors" in log
        )

    wait_until(
        up,
        timeout=STARTUP_TIMEOUT,
        what="the stack's web server, worker and scheduler",
    )


def group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@needs_proc
@pytest.mark.parametrize("name", ["scheduler", "worker"])
def test_the_stack_restarts_a_killed_child_and_keeps_serving(
    name: str, own_redis: RedisServer, tmp_path
) -> None:
    stack = RunningStack(own_redis, tmp_path)
    try:
        wait_for_children(stack)
        first = stack.child_pid(name)
        assert first is not None
        os.kill(first, signal.SIGKILL)
        # the stack spawns the new child, then logs it: wait for the line, not only the process
        wait_until(
            lambda: (
                stack.alive()
                and stack.child_pid(name) not in (None, first)
                and f"stack: {name} restarted (pid {stack.child_pid(name)})" in stack.log()
            ),
            timeout=STARTUP_TIMEOUT,
            what=f"a new {name}, logged",
        )
        log = stack.log()
        assert f"stack: {name} exited (killed by SIGKILL)" in log and "restarting it in 1 s" in log, log
        assert f"stack: {name} restarted (pid {stack.child_pid(name)})" in log, log
        # Each child leads a process group: the killed worker's own worker processes went with it.
        wait_until(lambda: not group_exists(first), timeout=10, what=f"the killed {name}'s processes to go")
        assert stack.serving(), "the web server went on serving"
    finally:
        returncode = stack.stop()
    assert returncode == 0, stack.log()
    assert "stopping the others" not in stack.log()


@pytest.mark.slow
@needs_proc
def test_a_scheduler_exiting_in_a_redis_outage_is_restarted_until_redis_is_back(
    own_redis: RedisServer, tmp_path
) -> None:
    stack = RunningStack(own_redis, tmp_path)
    try:
        wait_for_children(stack)
        first = stack.child_pid("scheduler")
        assert first is not None
        own_redis.stop()
        # Rather than wait up to a minute for its next tick, kill it: the scheduler started in its
        # place sends its first tick at once, into the outage, and periodiq exits 1 on that.
        os.kill(first, signal.SIGKILL)
        wait_until(
            lambda: stack.alive() and stack.log().count("stack: scheduler exited (status 1)") >= 2,
            timeout=STARTUP_TIMEOUT,
            what="the scheduler failing twice on the stopped Redis",
        )
        log = stack.log()
        assert "redis.exceptions.ConnectionError" in log and "restarting it in 2 s" in log, log
        assert stack.serving(), "the web server went on serving through the outage"
        ran_before = log.count("Maintenance: pruned")  # nothing runs while Redis is down
        own_redis.start()  # on the same port, empty
        wait_until(
            lambda: stack.alive() and stack.log().count("Maintenance: pruned") > ran_before,
            timeout=STARTUP_TIMEOUT,
            what="a periodic maintenance run after Redis came back",
        )
    finally:
        returncode = stack.stop()
    assert returncode == 0, stack.log()
    assert "stopping the others" not in stack.log()
