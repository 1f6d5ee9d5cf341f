"""Real processes for the tests: a Redis server, ``dramatiq`` workers and a Hypercorn web server.

Each starts as a subprocess on a free port and is awaited until it is ready (a PING answered, a
worker heartbeat written, ``/healthz`` answered), never by sleeping a fixed time. The Redis
binary and free ports are found the way ``deploy/stack.py`` finds them (one lookup for both).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from deploy.stack import free_port, periodiq_command, redis_server_binary

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The admin token every test web server is started with.
ADMIN_TOKEN = "test-admin-token-of-32-characters"
#: The tests' web servers keep their local state (none, with an admin token) out of the repository.
STATE_DIR = tempfile.mkdtemp(prefix="jobs-test-state-")
#: Seconds a process may take to be ready; generous, so that a loaded machine does not fail a test.
STARTUP_TIMEOUT = 60.0

__all__ = ["free_port", "periodiq_command"]


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout`` seconds (sync code)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


async def eventually(
    condition: Callable[[], Awaitable[bool] | bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    """``wait_until`` for async tests: the event loop keeps serving while the condition is polled."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


class RedisServer:
    """A throwaway ``redis-server`` that a test may stop and start again on the same port."""

    def __init__(self, *, persistent: bool = False) -> None:
        self.persistent = persistent  # append-only file, so data survives a kill and restart
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="jobs-test-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)

    def start(self) -> None:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        )
        args = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            self.dir,
        ]
        args += persistence + self.extra_args()
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ready, timeout=STARTUP_TIMEOUT, what=f"redis-server on port {self.port}")

    def extra_args(self) -> list[str]:
        """More of ``redis-server``'s command line (a replica's ``--replicaof``, say)."""
        return []

    def _ready(self) -> bool:
        return self._answers()

    def stop(self) -> None:
        """Kill the server outright (SIGKILL), as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.exceptions.ConnectionError:
            return False


@contextmanager
def redis_running(*, persistent: bool = False) -> Iterator[RedisServer]:
    """A ``RedisServer`` of its own, started, and killed on the way out (for a fixture's body)."""
    server = RedisServer(persistent=persistent)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class ServiceProcess:
    """A project process (worker or web) with its output kept in a log file for failures."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str]) -> None:
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"jobs-test-{name}-", suffix=".log")[1])
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check_alive(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
        return True

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def service_env(redis_url: str, **extra: str) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "JOB_MODULES": "tests.support.jobs",
        "WORKER_HEARTBEAT_INTERVAL": "1",
        "CANCEL_GRACE": "1",
        "JOB_TIME_LIMITS": "limited=1",
        "JOB_RETRIES": "always_fails=1/0.05/0.05",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "STATE_DIR": STATE_DIR,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_workers(
    redis_server: RedisServer, *, processes: int = 1, threads: int = 4, args: tuple[str, ...] = (), **env: str
) -> ServiceProcess:
    """``dramatiq actors`` with ``args`` added to its command line, once each process beats."""
    # Not at the top: conftest points REDIS_URL at the tests' own Redis before anything imports actors.
    from actors.jobs.keys import WORKERS

    client = redis_server.client()
    before = set(client.zrange(WORKERS, 0, -1))
    worker = ServiceProcess(
        "worker",
        [
            sys.executable,
            "-m",
            "dramatiq",
            "actors",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            *args,
        ],
        service_env(redis_server.url, **env),
    )
    wait_until(
        lambda: worker.check_alive() and len(set(client.zrange(WORKERS, 0, -1)) - before) >= processes,
        timeout=STARTUP_TIMEOUT,
        what="a worker heartbeat",
    )
    return worker


class WebServer(ServiceProcess):
    """``python -m service.serve`` (Hypercorn with clean stream shutdown), or with ``plain_hypercorn``
    the ``hypercorn "service:create_app()"`` command line."""

    def __init__(
        self,
        redis_server: RedisServer,
        *,
        plain_hypercorn: bool = False,
        module: str = "service.serve",
        args: tuple[str, ...] = (),
        tls: ssl.SSLContext | None = None,
        **env: str,
    ) -> None:
        """``args`` go to the command line (``service.serve``'s, or ``hypercorn``'s); ``module``
        runs in place of ``service.serve`` (one that wraps it, taking its command line). ``tls``:
        the server serves TLS (``args`` name its certificate), which this context trusts."""
        self.port = free_port()
        self.tls = tls
        bind = f"127.0.0.1:{self.port}"
        if plain_hypercorn:
            command = [sys.executable, "-m", "hypercorn", "service:create_app()", "--bind", bind, *args]
        else:
            command = [
                sys.executable,
                "-m",
                module,
                "--bind",
                bind,
                "--graceful-timeout",
                "5",
                *args,
            ]
        super().__init__("web", command, service_env(redis_server.url, **env))
        wait_until(
            lambda: self.check_alive() and self._healthy(), timeout=STARTUP_TIMEOUT, what="the web server"
        )

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _healthy(self) -> bool:
        try:
            return (
                httpx.get(f"{self.base_url}/healthz", timeout=1, verify=self.tls or True).status_code == 200
            )
        except httpx.HTTPError:
            return False
