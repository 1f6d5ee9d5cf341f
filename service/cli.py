"""``jobctl``: the command-line client of the job service's HTTP API.

    jobctl [--url URL] submit score_contracts criterion="Pays in 30 days" workspace_name=acme --watch
    jobctl watch <job_id>        live status and a progress bar, until the job ends
    jobctl status <job_id>       the job's snapshot, as JSON
    jobctl cancel <job_id>
    jobctl workers               worker processes and queue depths

``submit`` takes ``name=value`` arguments (values are parsed as JSON when they can be, else kept
as text) or ``--json '{...}'``. ``watch`` follows the job's event stream, resuming where it left
off if the connection drops; it exits 0 when the job succeeds, 1 when it fails or is cancelled,
2 on a usage or API error. This module talks HTTP only: it imports nothing else of the project.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELLED"}
BAR_WIDTH = 30
#: Reconnections ``watch`` makes after the stream drops before it gives up.
MAX_RECONNECTS = 10


class CliError(Exception):
    """An error to show the user, with exit code 2."""


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = _parser().parse_args(argv)
    try:
        with httpx.Client(base_url=args.url, timeout=30) as client:
            return args.run(client, args, out)
    except CliError as exc:
        print(f"jobctl: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"jobctl: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobctl", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the service's address (default {DEFAULT_URL})")
    commands = parser.add_subparsers(required=True, metavar="command")
    submit = commands.add_parser("submit", help="start a job")
    submit.add_argument("job_type")
    submit.add_argument("arguments", nargs="*", metavar="name=value")
    submit.add_argument("--json", help="the job's arguments as one JSON object")
    submit.add_argument("--watch", action="store_true", help="then watch it until it ends")
    submit.set_defaults(run=_submit)
    for name, run, text in (
        ("watch", _watch, "show a job's progress live until it ends"),
        ("status", _status, "print a job's snapshot"),
        ("cancel", _cancel, "cancel a job"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("job_id")
        command.set_defaults(run=run)
    commands.add_parser("workers", help="worker processes and queues").set_defaults(run=_workers)
    return parser


def _submit(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    payload = _payload(args.arguments, args.json)
    job = _ok(client.post(f"/jobs/{args.job_type}", json=payload))
    print(job["job_id"], file=out)
    return _follow(client, job["job_id"], out) if args.watch else 0


def _watch(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    return _follow(client, args.job_id, out)


def _status(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    print(json.dumps(_ok(client.get(f"/jobs/{args.job_id}")), indent=2), file=out)
    return 0


def _cancel(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    response = client.post(f"/jobs/{args.job_id}/cancel")
    if response.status_code == 409:
        print(f"{args.job_id} had already finished: {response.json()['error']['status']}", file=out)
        return 1
    job = _ok(response)
    state = (
        "cancelled" if job["status"] == "CANCELLED" else "cancellation requested; it stops at its next step"
    )
    print(f"{args.job_id} {state}", file=out)
    return 0


def _workers(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    status = client.get("/worker/status").json()
    print(
        f"status {status['status']}, {len(status['workers'])} worker process(es), "
        f"{status['jobs_in_queue']} job(s) in queue",
        file=out,
    )
    for worker in status["workers"]:
        print(
            f"  {worker['id']}  host {worker['host']}  pid {worker['pid']}  "
            f"queues {','.join(worker['queues'])}  last beat {worker['seconds_since_heartbeat']:.1f} s ago",
            file=out,
        )
    for queue, counts in status["queues"].items():
        print(
            f"  queue {queue}: {counts['ready']} ready, {counts['delayed']} delayed, "
            f"{counts['dead_letters']} dead letters",
            file=out,
        )
    return 0 if status["status"] == "running" else 1


def _follow(client: httpx.Client, job_id: str, out: TextIO) -> int:
    """Show each event until the job ends; resume with Last-Event-ID when the stream drops."""
    last_id: str | None = None
    live = out.isatty()
    for attempt in range(MAX_RECONNECTS + 1):
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with client.stream("GET", f"/jobs/{job_id}/events", headers=headers, timeout=None) as response:
                if response.status_code == 204:
                    break  # we have seen the end already
                if response.status_code != 200:
                    _ok(response)
                for event_id, job in _events(response.iter_lines()):
                    last_id = event_id
                    _show(job, out, live)
                    if job["status"] in TERMINAL:
                        return _finish(job, out, live)
        except httpx.TransportError:
            if attempt == MAX_RECONNECTS:
                raise
            time.sleep(min(2**attempt * 0.25, 5))
    return _finish(_ok(client.get(f"/jobs/{job_id}")), out, live)


def _events(lines: Iterator[str]) -> Iterator[tuple[str | None, dict[str, Any]]]:
    event_id, data = None, []
    for line in lines:
        if not line:
            if data:
                yield event_id, json.loads("\n".join(data))
            data = []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def _show(job: dict[str, Any], out: TextIO, live: bool) -> None:
    percent = job.get("progress") or (100 if job["status"] == "SUCCESS" else 0)
    filled = round(BAR_WIDTH * percent / 100)
    line = (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:5.1f}%  {job['status']:<9}  {job['message']}"
    )
    print(f"\r{line[:120]:<120}" if live else line, end="" if live else "\n", file=out, flush=True)


def _finish(job: dict[str, Any], out: TextIO, live: bool) -> int:
    if live:
        print(file=out)
    if job["status"] == "SUCCESS":
        print(json.dumps(job["result"], indent=2), file=out)
        return 0
    if job.get("error"):
        print(f"{job['status']}: {job['error']['type']}: {job['error']['message']}", file=out)
    return 0 if job["status"] == "SUCCESS" else 1


def _payload(arguments: list[str], raw_json: str | None) -> dict[str, Any]:
    if raw_json is not None:
        try:
            payload = json.loads(raw_json)
        except ValueError as exc:
            raise CliError(f"--json is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise CliError("--json must be a JSON object")
    else:
        payload = {}
    for argument in arguments:
        name, sep, value = argument.partition("=")
        if not sep or not name:
            raise CliError(f"arguments are name=value, not {argument!r}")
        try:
            payload[name] = json.loads(value)
        except ValueError:
            payload[name] = value
    return payload


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.is_success:
        return response.json()
    try:
        error = response.json()["error"]
        raise CliError(f"{response.status_code} {error['code']}: {error['message']}")
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{response.status_code}: {response.text[:200]}") from None


if __name__ == "__main__":
    sys.exit(main())
