"""``jobctl``, the installed command-line client, against the live stack."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from actors.contracts.documents import DocumentStore

from .support.api import TENANT, as_stored, new_key
from .support.contracts import LEASE
from .support.jobs import gate_key
from .support.servers import ADMIN_TOKEN, RedisServer, WebServer

pytestmark = pytest.mark.usefixtures("workers")


#: The console script the package installs, beside this interpreter.
JOBCTL = str(Path(sys.executable).with_name("jobctl"))


@pytest.fixture(autouse=True)
def _key(api_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBCTL_KEY", api_key)  # as a user would keep it


def jobctl(web: WebServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([JOBCTL, "--url", web.base_url, *args], capture_output=True, text=True, timeout=60)


def test_submit_and_watch_a_job_to_its_result_in_brief(web: WebServer) -> None:
    done = jobctl(web, "submit", "quick_steps", "steps=4", 'result="from the cli"', "--watch")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    job_id = lines[0]
    assert len(job_id) == 36, "first the job id"
    assert any("Step 2/4" in line and " 50.0%" in line for line in lines)
    assert any("100.0%  SUCCESS" in line for line in lines)
    end = lines[lines.index(next(line for line in lines if line.startswith("SUCCESS in "))) :]
    assert re.fullmatch(rf"SUCCESS in \d+\.\d s  \(quick_steps {job_id}\)", end[0]), end
    assert end[1:] == ["  steps: 4", "  result: from the cli"], "the result in brief, not JSON"


def test_watch_with_json_prints_the_whole_snapshot_alone(web: WebServer) -> None:
    done = jobctl(web, "submit", "quick_steps", "steps=2", 'result="whole"', "--watch", "--json")
    assert done.returncode == 0, done.stderr
    snapshot = json.loads(done.stdout)  # nothing else on standard output
    assert snapshot["status"] == "SUCCESS" and snapshot["result"] == {"steps": 2, "result": "whole"}
    assert snapshot["job_id"] in done.stderr and "100.0%  SUCCESS" in done.stderr, "id and progress aside"
    assert as_stored(json.loads(jobctl(web, "status", snapshot["job_id"], "--json").stdout)) == snapshot


def test_a_failing_job_exits_1_with_its_error(web: WebServer) -> None:
    failed = jobctl(web, "submit", "always_fails", "--arguments", '{"reason": "no contracts"}', "--watch")
    assert failed.returncode == 1
    assert re.search(r"^FAILURE in .*\(always_fails .*\)\n  ValueError: no contracts$", failed.stdout, re.M)


def test_cancel_status_and_workers(web: WebServer, redis_client: redis.Redis) -> None:
    gate = f"cli-{uuid.uuid4()}"
    job_id = jobctl(web, "submit", "gated_steps", f"gate={gate}", "steps=2").stdout.strip()
    assert jobctl(web, "status", job_id).returncode == 0
    cancelled = jobctl(web, "cancel", job_id)
    assert cancelled.returncode == 0 and job_id in cancelled.stdout
    redis_client.rpush(gate_key(gate), 1, 1)
    watched = jobctl(web, "watch", job_id)
    assert watched.returncode == 1 and "CANCELLED" in watched.stdout
    again = jobctl(web, "cancel", job_id)
    assert again.returncode == 1 and "already finished: CANCELLED" in again.stdout
    workers = jobctl(web, "workers")
    assert workers.returncode == 0 and re.search(
        r"status running, (1 worker process|[0-9]+ worker processes), ", workers.stdout
    )


def test_keys_are_made_listed_and_revoked_with_the_admin_token(web: WebServer) -> None:
    admin = ("--admin-token", ADMIN_TOKEN)
    made = jobctl(web, "keys", "create", "cli-tenant", *admin)
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[0]
    key_id = made.stdout.split("key id ")[1].split()[0]
    listed = jobctl(web, "keys", "list", "cli-tenant", *admin)
    assert key_id in listed.stdout
    as_tenant = subprocess.run(
        [JOBCTL, "workers", "--url", web.base_url, "--key", key], capture_output=True, text=True, timeout=60
    )
    assert as_tenant.returncode == 0, "options may follow the command"
    assert jobctl(web, "keys", "revoke", "cli-tenant", key_id, *admin).returncode == 0
    refused = jobctl(web, "workers", "--key", key)
    assert refused.returncode == 2 and "401 unauthenticated" in refused.stderr
    without_admin = jobctl(web, "keys", "list", "cli-tenant")
    assert (
        without_admin.returncode == 2 and "no admin token given: pass --admin-token" in without_admin.stderr
    )


def test_a_token_that_starts_with_a_dash_is_taken_in_the_printed_commands_form(web: WebServer) -> None:
    """Made tokens are URL-safe base64, which may start with ``-``: the README's and the stack's
    ``--admin-token="$(cat …)"`` hands it over as a value, not as an option."""
    wrong = jobctl(web, "keys", "list", "cli-tenant", "--admin-token=-not-the-token")
    assert wrong.returncode == 2 and "401" in wrong.stderr, wrong.stderr


def test_usage_and_api_errors_exit_2(web: WebServer) -> None:
    unknown = jobctl(web, "submit", "no_such_job")
    assert unknown.returncode == 2 and "404 unknown_job_type" in unknown.stderr
    unknown_job = jobctl(web, "watch", "no-such-job")
    assert unknown_job.returncode == 2 and "404 job_not_found" in unknown_job.stderr, unknown_job.stderr
    malformed = jobctl(web, "submit", "quick_steps", "steps")
    assert malformed.returncode == 2 and "name=value" in malformed.stderr
    unreachable = subprocess.run(
        [JOBCTL, "--url", "http://127.0.0.1:9", "workers"], capture_output=True, text=True
    )
    assert unreachable.returncode == 2 and "cannot reach" in unreachable.stderr


def test_a_viewer_key_made_by_the_cli_reads_but_cannot_submit(web: WebServer) -> None:
    admin = ("--admin-token", ADMIN_TOKEN)
    made = jobctl(web, "keys", "create", "cli-viewers", "--role", "viewer", *admin)
    assert made.returncode == 0, made.stderr
    key, key_id = made.stdout.splitlines()[0], made.stdout.split("key id ")[1].split()[0]
    listed = jobctl(web, "keys", "list", "cli-viewers", *admin).stdout
    assert re.search(rf"^{key_id}\s+viewer\s", listed, re.MULTILINE), listed
    refused = jobctl(web, "submit", "quick_steps", "steps=1", "--key", key)
    assert refused.returncode == 2 and "403 read_only_key: This key may only read" in refused.stderr
    assert jobctl(web, "workers", "--key", key).returncode == 0, "but it reads"


def tenant_key(web: WebServer, prefix: str) -> str:
    """A key of a tenant of its own, so that a listing holds only this test's jobs."""
    return new_key(web, f"{prefix}-{uuid.uuid4().hex[:8]}")


def contracts(count: int) -> list[tuple[str, bytes]]:
    """``count`` different contracts (the same clauses, numbered apart, so none is a duplicate)."""
    return [
        (f"contract-{n:02d}.txt", f"{LEASE}\n7. Reference. Contract number {n}.\n".encode())
        for n in range(count)
    ]


def test_a_large_scoring_ends_with_its_ranking_by_document_name(
    web: WebServer, redis_server: RedisServer
) -> None:
    workspace = f"cli-score-{uuid.uuid4().hex[:8]}"
    stored = DocumentStore(client=redis_server.client()).add(TENANT, workspace, contracts(8))
    names = {document["filename"] for document in stored}
    done = jobctl(
        web,
        "submit",
        "score_contracts",
        f"workspace_name={workspace}",
        "criterion=Invoices are paid within 30 days",
        "--watch",
    )
    assert done.returncode == 0, done.stderr
    job_id, summary = (
        done.stdout.splitlines()[0],
        done.stdout[done.stdout.index("SUCCESS in ") :].splitlines(),
    )
    assert summary[1] == "  8 contracts scored: Invoices are paid within 30 days"
    ranked = summary[2:7]
    assert [row.split()[0] for row in ranked] == ["1.", "2.", "3.", "4.", "5."]
    assert all(row.split()[1] in names and re.search(r" \d+(\.\d+)?/100  meets$", row) for row in ranked), (
        ranked
    )
    assert summary[7:] == ["    … and 3 more (--json for everything)"]
    assert len(done.stdout) < 3000, "a summary, not the result"
    whole = json.loads(jobctl(web, "status", job_id, "--json").stdout)["result"]
    assert len(whole["ranking"]) == 8 and len(whole["contracts"]) == 8


def test_list_shows_jobs_newest_first_filtered(web: WebServer) -> None:
    key = ("--key", tenant_key(web, "cli-list"))
    first = jobctl(web, "submit", "quick_steps", "steps=1", "--watch", *key).stdout.splitlines()[0]
    failed = jobctl(web, "submit", "always_fails", "--watch", *key).stdout.splitlines()[0]
    last = jobctl(web, "submit", "quick_steps", "steps=1", "--watch", *key).stdout.splitlines()[0]
    listed = jobctl(web, "list", *key)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    assert header.split() == ["JOB", "ID", "TYPE", "STATUS", "CREATED", "(UTC)", "DURATION"]
    assert [row.split()[0] for row in rows] == [last, failed, first]
    assert rows[1].split()[1:3] == ["always_fails", "FAILURE"]
    assert re.search(r"  20\d\d-\d\d-\d\d \d\d:\d\d:\d\d  \d+\.\d s$", rows[0]), rows[0]
    only_failed = jobctl(web, "list", "--status", "failure", *key).stdout.splitlines()[1:]
    assert [row.split()[0] for row in only_failed] == [failed]
    newest_quick = jobctl(web, "list", "--type", "quick_steps", "--limit", "1", *key).stdout.splitlines()[1:]
    assert [row.split()[0] for row in newest_quick] == [last]
    assert [job["job_id"] for job in json.loads(jobctl(web, "list", "--json", *key).stdout)["jobs"]] == [
        last,
        failed,
        first,
    ]
    assert jobctl(web, "list", "--workspace", "none-here", *key).stdout == "no jobs\n"


def test_upload_files_into_a_workspace_and_watch_them_read(web: WebServer, tmp_path: Path) -> None:
    key = ("--key", tenant_key(web, "cli-upload"))
    workspace = f"cli-up-{uuid.uuid4().hex[:8]}"
    files = []
    for name, data in contracts(2):
        (tmp_path / name).write_bytes(data)
        files.append(str(tmp_path / name))
    uploaded = jobctl(web, "upload", workspace, *files, "--watch", *key)
    assert uploaded.returncode == 0, uploaded.stderr
    assert re.search(r"^job \S+ reads them$", uploaded.stdout, re.M)
    assert "  2 documents read, 0 failed" in uploaded.stdout.splitlines()
    again = jobctl(web, "upload", workspace, files[0], *key)
    assert again.returncode == 0 and f"nothing new for workspace {workspace}: no job" in again.stdout
    assert "(already there as contract-00.txt)" in again.stdout
    rows = jobctl(web, "list", "--workspace", workspace, *key).stdout.splitlines()[1:]
    assert [row.split()[1:3] for row in rows] == [["extract_documents", "SUCCESS"]]
    missing = jobctl(web, "upload", workspace, str(tmp_path / "nowhere.pdf"), *key)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_retry_runs_a_finished_job_again(web: WebServer, redis_client: redis.Redis) -> None:
    failed = jobctl(web, "submit", "always_fails", "--watch").stdout.splitlines()[0]
    again = jobctl(web, "retry", failed, "--watch")
    assert again.returncode == 1, "it fails again, and says so"
    retried = again.stdout.splitlines()[0]
    assert retried != failed and len(retried) == 36
    assert json.loads(jobctl(web, "status", retried, "--json").stdout)["retry_of"] == failed
    gate = f"cli-{uuid.uuid4()}"
    running = jobctl(web, "submit", "gated_steps", f"gate={gate}", "steps=1").stdout.strip()
    refused = jobctl(web, "retry", running)
    assert refused.returncode == 2 and "409 job_not_finished" in refused.stderr
    redis_client.rpush(gate_key(gate), 1)
    assert jobctl(web, "watch", running).returncode == 0


def test_a_missing_key_is_named_as_the_user_gives_it(web: WebServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBCTL_KEY")
    monkeypatch.delenv("JOBCTL_ADMIN_TOKEN", raising=False)
    refused = jobctl(web, "list")
    assert refused.returncode == 2
    assert "--key" in refused.stderr and "JOBCTL_KEY" in refused.stderr and "/session" not in refused.stderr
    no_admin = jobctl(web, "keys", "list", "anyone")
    assert no_admin.returncode == 2 and "--admin-token" in no_admin.stderr
    assert "JOBCTL_ADMIN_TOKEN" in no_admin.stderr


def test_help_is_plain_text() -> None:
    for command in ([], ["submit"], ["list"], ["upload"], ["keys"]):
        shown = subprocess.run([JOBCTL, *command, "--help"], capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0 and "jobctl" in shown.stdout
        assert "`" not in shown.stdout, shown.stdout
