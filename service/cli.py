"""``jobctl``: the command-line client of the job service's HTTP API.

    jobctl [--url URL] [--key KEY] submit score_contracts workspace_name=acme criterion="..." --watch
    jobctl watch <job_id>        live status and a progress bar, until the job ends
    jobctl status <job_id>       the job's snapshot, as JSON
    jobctl cancel <job_id>
    jobctl workers               worker processes and queue depths
    jobctl keys create TENANT [--role viewer]   a new API key of TENANT (with the admin
                                 token), shown once; a viewer key only reads
    jobctl keys list TENANT      its key ids and roles
    jobctl keys revoke TENANT KEY_ID

The key comes from ``--key`` or ``JOBCTL_KEY``, the admin token from ``--admin-token`` or
``JOBCTL_ADMIN_TOKEN``; the options may stand before or after the command. ``submit`` takes
``name=value`` arguments (values are parsed as JSON when they can be, else kept as text) or
``--json '{...}'``. ``watch`` follows the job's event stream, resuming where it left off if the
connection drops; it exits 0 when the job succeeds, 1 when it fails or is cancelled,
2 on a usage or API error. This module talks HTTP only: it imports nothing else of the project.
"""

from __future__ import annotations

import argparse
import json
import os
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
    url = args.url
    secret = args.admin_token if args.run is _keys else args.key
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    try:
        with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
            return args.run(client, args, out)
    except CliError as exc:
        print(f"jobctl: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"jobctl: cannot reach {url}: {exc}", file=sys.stderr)
        return 2


def _options(*, after_command: bool) -> argparse.ArgumentParser:
    """``--url``, ``--key``, ``--admin-token``. Given after the command too, where their defaults
    are left out so that a value given before the command stands."""
    options = argparse.ArgumentParser(add_help=False)
    for flags, default, text in (
        (("--url",), DEFAULT_URL, f"the service's address (default {DEFAULT_URL})"),
        (("--key",), os.environ.get("JOBCTL_KEY"), "a tenant's API key (default: $JOBCTL_KEY)"),
        (("--admin-token",), os.environ.get("JOBCTL_ADMIN_TOKEN"), "the admin token, for `keys`"),
    ):
        options.add_argument(*flags, default=argparse.SUPPRESS if after_command else default, help=text)
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobctl", description=__doc__.split("\n\n")[0], parents=[_options(after_command=False)]
    )
    commands = parser.add_subparsers(required=True, metavar="command")
    after = [_options(after_command=True)]
    submit = commands.add_parser("submit", help="start a job", parents=after)
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
        command = commands.add_parser(name, help=text, parents=after)
        command.add_argument("job_id")
        command.set_defaults(run=run)
    commands.add_parser("workers", help="worker processes and queues", parents=after).set_defaults(
        run=_workers
    )
    keys = commands.add_parser("keys", help="tenants' API keys (with the admin token)", parents=after)
    keys.add_argument("action", choices=("create", "list", "revoke"))
    keys.add_argument("tenant")
    keys.add_argument("key_id", nargs="?", help="the key to revoke")
    keys.add_argument(
        "--role",
        choices=("member", "viewer"),
        default="member",
        help="for create: member (default) may change things; viewer only reads",
    )
    keys.set_defaults(run=_keys)
    return parser


def _keys(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    path = f"/admin/tenants/{args.tenant}/keys"
    if args.action == "create":
        made = _ok(client.post(path, json={"role": args.role}))
        print(made["key"], file=out)
        print(
            f"(key id {made['key_id']} of tenant {made['tenant']}, {made['role']}; shown this once)", file=out
        )
    elif args.action == "list":
        for key in _ok(client.get(path))["keys"]:
            print(f"{key['key_id']}  {key['role']:<6}  created {key['created_at']}", file=out)
    else:
        if not args.key_id:
            raise CliError("keys revoke needs the KEY_ID to revoke")
        response = client.delete(f"{path}/{args.key_id}")
        if response.status_code != 204:
            _ok(response)
        print(f"revoked {args.key_id}", file=out)
    return 0


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
    response = client.get("/worker/status")
    status = response.json() if response.status_code in (200, 503) else _ok(response)
    print(
        f"status {status['status']}, {len(status['workers'])} worker process(es), "
        f"{status['jobs_in_queue']} job(s) in queue",
        file=out,
    )
    for worker in status["workers"]:
        where = f"{worker['id']}  host {worker['host']}  pid {worker['pid']}  " if "id" in worker else ""
        print(
            f"  {where}{worker['threads']} threads  queues {','.join(worker['queues'])}  "
            f"last beat {worker['seconds_since_heartbeat']:.1f} s ago",
            file=out,
        )
    for queue, counts in status.get("queues", {}).items():  # the admin's view only
        print(
            f"  queue {queue}: {counts['ready']} ready, {counts['delayed']} delayed, "
            f"{counts['dead_letters']} dead letters",
            file=out,
        )
    return 0 if status["status"] == "running" else 1


def _follow(client: httpx.Client, job_id: str, out: TextIO) -> int:
    """Show each event, from the job's first, until the job ends; resume with Last-Event-ID when
    the stream drops. (From the first: a quick job may have run its course before the stream
    opens, and its progress is still worth seeing.)"""
    last_id: str | None = "0"
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
