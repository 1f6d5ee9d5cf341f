"""``jobctl``, the installed command-line client, against the live stack."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from .support.jobs import gate_key
from .support.servers import ADMIN_TOKEN, WebServer

pytestmark = pytest.mark.usefixtures("workers")


#: The console script the package installs, beside this interpreter.
JOBCTL = str(Path(sys.executable).with_name("jobctl"))


@pytest.fixture(autouse=True)
def _key(api_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBCTL_KEY", api_key)  # as a user would keep it


def jobctl(web: WebServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([JOBCTL, "--url", web.base_url, *args], capture_output=True, text=True, timeout=60)


def test_submit_and_watch_a_job_to_its_result(web: WebServer) -> None:
    done = jobctl(web, "submit", "quick_steps", "steps=4", 'result="from the cli"', "--watch")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines[0]) == 36, "first the job id"
    assert any("Step 2/4" in line and " 50.0%" in line for line in lines)
    assert any("100.0%  SUCCESS" in line for line in lines)
    assert '"result": "from the cli"' in done.stdout


def test_a_failing_job_exits_1_with_its_error(web: WebServer) -> None:
    failed = jobctl(web, "submit", "always_fails", "--json", '{"reason": "no contracts"}', "--watch")
    assert failed.returncode == 1
    assert "FAILURE: ValueError: no contracts" in failed.stdout


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
        r"status running, [1-9][0-9]* worker process\(es\)", workers.stdout
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
    assert without_admin.returncode == 2 and "401" in without_admin.stderr


def test_usage_and_api_errors_exit_2(web: WebServer) -> None:
    unknown = jobctl(web, "submit", "no_such_job")
    assert unknown.returncode == 2 and "404 unknown_job_type" in unknown.stderr
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
