"""``jobctl``: the command-line client of the job service's HTTP API.

    jobctl [--url URL] [--key KEY] submit score_contracts workspace_name=acme criterion="..." --watch
    jobctl watch <job_id>        live status and a progress bar, then the job's end in brief
    jobctl status <job_id>       the job in brief
    jobctl list [--status S] [--type T] [--workspace W] [--limit N]   jobs, newest first
    jobctl upload <workspace> FILE...   documents into a workspace (--watch: until they are read)
    jobctl cancel <job_id>
    jobctl retry <job_id>        a finished job again, as a new job
    jobctl workers               worker processes and queue depths
    jobctl keys create TENANT [--role viewer]   a new API key of TENANT (with the admin
                                 token), shown once; a viewer key only reads
    jobctl keys list TENANT      its key ids and roles
    jobctl keys revoke TENANT KEY_ID

The key comes from ``--key`` or ``JOBCTL_KEY``, the admin token from ``--admin-token`` or
``JOBCTL_ADMIN_TOKEN``; the options may stand before or after the command. ``submit`` takes
``name=value`` arguments (values are parsed as JSON when they can be, else kept as text) or
``--arguments '{...}'``. ``watch`` follows the job's event stream, resuming where it left off if
the connection drops, and sums the job up at its end (``cli_view``); ``--json`` prints the API's
JSON instead (a job's whole snapshot, its result included), on standard output alone: the job id
and the progress then go to standard error. Exit codes: 0 when the job succeeds, 1 when it fails
or is cancelled, 2 on a usage or API error. This module talks HTTP only: it imports nothing else
of the project.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

from .cli_view import fleet_lines, job_summary, job_table, progress_line

DEFAULT_URL = "http://127.0.0.1:8000"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELLED"}
#: Reconnections ``watch`` makes after the stream drops before it gives up.
MAX_RECONNECTS = 10
#: Jobs ``list`` shows unless told; jobs it asks for per request (the API's most).
DEFAULT_LIST_LIMIT, MAX_PAGE = 20, 200


class CliError(Exception):
    """An error to show the user, with exit code 2."""


DESCRIPTION = "jobctl: the command-line client of the job service's HTTP API."
EPILOG = """\
The key comes from --key or the JOBCTL_KEY environment variable, the admin token (for the keys
commands) from --admin-token or JOBCTL_ADMIN_TOKEN. Options may stand before or after the
command. Exit codes: 0 done (the job succeeded), 1 the job failed or was cancelled, 2 a usage
or API error. "jobctl COMMAND --help" describes each command.
"""


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
    """--url, --key, --admin-token. Given after the command too, where their defaults are left
    out so that a value given before the command stands."""
    options = argparse.ArgumentParser(add_help=False)
    for flags, default, text in (
        (("--url",), DEFAULT_URL, f"the service's address (default {DEFAULT_URL})"),
        (("--key",), os.environ.get("JOBCTL_KEY"), "a tenant's API key (default: $JOBCTL_KEY)"),
        (
            ("--admin-token",),
            os.environ.get("JOBCTL_ADMIN_TOKEN"),
            "the admin token, for the keys commands (default: $JOBCTL_ADMIN_TOKEN)",
        ),
    ):
        options.add_argument(*flags, default=argparse.SUPPRESS if after_command else default, help=text)
    return options


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobctl",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_options(after_command=False)],
    )
    commands = parser.add_subparsers(required=True, metavar="command")
    after = [_options(after_command=True)]

    def command(name: str, run: Any, text: str, *, job_id: bool = False) -> argparse.ArgumentParser:
        made = commands.add_parser(name, help=text, description=text, parents=after)
        if job_id:
            made.add_argument("job_id")
        made.set_defaults(run=run)
        return made

    def output_options(made: argparse.ArgumentParser, *, watch: bool) -> None:
        if watch:
            made.add_argument("--watch", action="store_true", help="then follow the job until it ends")
        made.add_argument(
            "--json", action="store_true", help="print the API's JSON (a job's whole snapshot) instead"
        )

    submit = command("submit", _submit, "start a job")
    submit.add_argument("job_type")
    submit.add_argument("arguments", nargs="*", metavar="name=value")
    submit.add_argument(
        "--arguments", dest="arguments_json", metavar="JSON", help="the job's arguments as one JSON object"
    )
    output_options(submit, watch=True)
    output_options(
        command("watch", _watch, "show a job's progress live until it ends", job_id=True), watch=False
    )
    output_options(command("status", _status, "show a job in brief", job_id=True), watch=False)
    listing = command("list", _list, "list jobs, newest first")
    listing.add_argument("--status", help="PENDING, STARTED, SUCCESS, FAILURE or CANCELLED")
    listing.add_argument("--type", dest="job_type", help="only jobs of this type")
    listing.add_argument("--workspace", help="only jobs of this workspace")
    listing.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIST_LIMIT,
        help=f"at most this many (default {DEFAULT_LIST_LIMIT})",
    )
    output_options(listing, watch=False)
    upload = command("upload", _upload, "upload documents into a workspace")
    upload.add_argument("workspace")
    upload.add_argument("files", nargs="+", metavar="FILE", help=".txt, .md, .pdf or .docx")
    output_options(upload, watch=True)
    command("cancel", _cancel, "cancel a job", job_id=True)
    output_options(
        command("retry", _retry, "run a finished job again, as a new job", job_id=True), watch=True
    )
    command("workers", _workers, "worker processes and queues")
    keys = command("keys", _keys, "tenants' API keys (with the admin token)")
    keys.add_argument("action", choices=("create", "list", "revoke"))
    keys.add_argument("tenant")
    keys.add_argument("key_id", nargs="?", help="the key to revoke")
    keys.add_argument(
        "--role",
        choices=("member", "viewer"),
        default="member",
        help="for create: member (default) may change things; viewer only reads",
    )
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
    payload = _payload(args.arguments, args.arguments_json)
    return _started(client, _ok(client.post(f"/jobs/{args.job_type}", json=payload)), args, out)


def _retry(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    return _started(client, _ok(client.post(f"/jobs/{args.job_id}/retry")), args, out)


def _started(client: httpx.Client, job: dict[str, Any], args: argparse.Namespace, out: TextIO) -> int:
    """A job just started: its id (the API's answer with --json), then, with --watch, its course."""
    if args.watch:
        print(job["job_id"], file=sys.stderr if args.json else out, flush=True)
        return _follow(client, job["job_id"], out, as_json=args.json)
    print(json.dumps(job, indent=2) if args.json else job["job_id"], file=out)
    return 0


def _upload(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    paths = [Path(name) for name in args.files]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise CliError(f"no such file: {', '.join(missing)}")
    handles = [path.open("rb") for path in paths]
    try:
        files = [("file", (path.name, handle)) for path, handle in zip(paths, handles, strict=True)]
        answer = _ok(client.post(f"/workspaces/{args.workspace}/documents", files=files, timeout=300))
    finally:
        for handle in handles:
            handle.close()
    if args.json and not (args.watch and answer["job_id"]):
        print(json.dumps(answer, indent=2), file=out)
        return 0
    info = sys.stderr if args.json else out
    for document in answer["documents"]:
        again = f"  (already there as {document['filename']})" if document["duplicate"] else ""
        print(
            f"{document.get('uploaded_as') or document['filename']}  {document['doc_id']}{again}", file=info
        )
    if answer["job_id"] is None:
        print(f"nothing new for workspace {args.workspace}: no job", file=info)
        return 0
    print(f"job {answer['job_id']} reads them", file=info, flush=True)
    return _follow(client, answer["job_id"], out, as_json=args.json) if args.watch else 0


def _watch(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    return _follow(client, args.job_id, out, as_json=args.json)


def _status(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    job = _ok(client.get(f"/jobs/{args.job_id}"))
    print(json.dumps(job, indent=2) if args.json else "\n".join(job_summary(job)), file=out)
    return 0


def _list(client: httpx.Client, args: argparse.Namespace, out: TextIO) -> int:
    if args.limit < 1:
        raise CliError("--limit must be 1 or more")
    params = {
        "status": args.status.upper() if args.status else None,
        "job_type": args.job_type,
        "workspace": args.workspace,
    }
    jobs: list[dict[str, Any]] = []
    cursor = None
    while len(jobs) < args.limit:
        page_params = {**params, "limit": min(args.limit - len(jobs), MAX_PAGE), "cursor": cursor}
        page = _ok(client.get("/jobs", params={k: v for k, v in page_params.items() if v is not None}))
        jobs.extend(page["jobs"])
        cursor = page["next_cursor"]
        if cursor is None or not page["jobs"]:
            break
    if args.json:
        print(json.dumps({"jobs": jobs}, indent=2), file=out)
    elif jobs:
        print("\n".join(job_table(jobs)), file=out)
    else:
        print("no jobs", file=out)
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
    print("\n".join(fleet_lines(status)), file=out)
    return 0 if status["status"] == "running" else 1


def _follow(client: httpx.Client, job_id: str, out: TextIO, *, as_json: bool) -> int:
    """Show each event, from the job's first, until the job ends; resume with Last-Event-ID when
    the stream drops. (From the first: a quick job may have run its course before the stream
    opens, and its progress is still worth seeing.) With ``as_json`` the progress goes to
    standard error, and standard output gets the final snapshot alone."""
    progress = sys.stderr if as_json else out
    last_id: str | None = "0"
    live = progress.isatty()
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
                    _show(job, progress, live)
                    if job["status"] in TERMINAL:
                        return _finish(client, job, out, live=live, as_json=as_json)
        except httpx.TransportError:
            if attempt == MAX_RECONNECTS:
                raise
            time.sleep(min(2**attempt * 0.25, 5))
    return _finish(client, _ok(client.get(f"/jobs/{job_id}")), out, live=live, as_json=as_json)


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
    line = progress_line(job)
    print(f"\r{line[:120]:<120}" if live else line, end="" if live else "\n", file=out, flush=True)


def _finish(client: httpx.Client, job: dict[str, Any], out: TextIO, *, live: bool, as_json: bool) -> int:
    """The job's end: in brief, or its whole snapshot with ``as_json``; 0 when it succeeded."""
    if live:
        print(file=sys.stderr if as_json else out)
    if "job_type" not in job:  # an event's snapshot may be partial: the whole one is a request away
        job = _ok(client.get(f"/jobs/{job['job_id']}"))
    print(json.dumps(job, indent=2) if as_json else "\n".join(job_summary(job)), file=out)
    return 0 if job["status"] == "SUCCESS" else 1


def _payload(arguments: list[str], raw_json: str | None) -> dict[str, Any]:
    if raw_json is not None:
        try:
            payload = json.loads(raw_json)
        except ValueError as exc:
            raise CliError(f"--arguments is not valid JSON: {exc}") from None
        if not isinstance(payload, dict):
            raise CliError("--arguments must be a JSON object")
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
    """The answer's JSON when it succeeded, else a ``CliError`` that says what went wrong."""
    response.read()  # a stream's answer too
    if response.is_success:
        return response.json()
    if response.status_code == 401 and "Authorization" not in response.request.headers:
        if response.request.url.path.startswith("/admin/"):
            raise CliError("no admin token given: pass --admin-token TOKEN or set JOBCTL_ADMIN_TOKEN")
        raise CliError(
            "no API key given: pass --key KEY or set JOBCTL_KEY "
            "(a key is made with: jobctl keys create TENANT; locally it is in var/local-key)"
        )
    try:
        error = response.json()["error"]
        raise CliError(f"{response.status_code} {error['code']}: {error['message']}")
    except (ValueError, KeyError, TypeError):
        raise CliError(f"{response.status_code}: {response.text[:200]}") from None


if __name__ == "__main__":
    sys.exit(main())
