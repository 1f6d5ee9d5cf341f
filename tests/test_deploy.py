"""The deployment files: they parse, name every part of the stack, and run commands that exist;
and ``deploy/stack.py``'s first start on a newcomer's machine: which Redis it takes (never another
clone's, never a shared one it did not start on), what it says when it makes no key, a busy port.
"""

from __future__ import annotations

import asyncio
import configparser
import importlib.metadata
import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
import yaml

from service.auth.credentials import Credentials

from .support.api import bearer
from .support.servers import REPO_ROOT, STARTUP_TIMEOUT, RedisServer, free_port, redis_running, wait_until

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def assert_runnable(command: list[str]) -> None:
    """A command of ours: ``python -m <module>``, or a console script with ``actors`` as its module."""
    program = Path(command[0]).name
    if program.startswith("python"):
        assert command[1] == "-m" and importlib.util.find_spec(command[2]) is not None, command
    else:
        scripts = {ep.name for ep in importlib.metadata.entry_points(group="console_scripts")}
        assert program in scripts, f"{program} is not an installed command"
        assert command[1] == "actors" and importlib.util.find_spec("actors") is not None


def test_the_compose_file_runs_redis_web_workers_and_one_scheduler() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "web", "worker", "scheduler"}
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    for name in ("web", "worker", "scheduler"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert_runnable(services[name]["command"])
    assert services["web"]["command"][:3] == ["python", "-m", "service.serve"]
    assert "?" in services["web"]["environment"]["ADMIN_TOKEN"], "compose refuses to start without one"
    assert services["scheduler"]["deploy"]["replicas"] == 1
    for name in ("worker", "scheduler"):  # periodiq exits when it cannot send to Redis
        assert services[name]["restart"] == "unless-stopped"
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY actors" in dockerfile and "COPY service" in dockerfile


def test_the_kubernetes_manifests_probe_readyz_and_run_our_commands() -> None:
    documents = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "jobservice.yaml").read_text()) if d]
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(deployments) == {"jobservice-web", "jobservice-worker", "jobservice-scheduler"}
    web = deployments["jobservice-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    admin = next(e for e in web["env"] if e["name"] == "ADMIN_TOKEN")
    assert "secretKeyRef" in admin["valueFrom"], "the admin token comes from a Secret"
    assert deployments["jobservice-scheduler"]["spec"]["replicas"] == 1
    for deployment in deployments.values():
        assert_runnable(deployment["spec"]["template"]["spec"]["containers"][0]["command"])
        # A Deployment's pods restart their containers (the scheduler exits in a Redis outage).
        assert deployment["spec"]["template"]["spec"].get("restartPolicy", "Always") == "Always"
    assert any(d["kind"] == "Service" for d in documents) and any(d["kind"] == "ConfigMap" for d in documents)


@pytest.mark.parametrize(
    "unit", ["jobservice-web@.service", "jobservice-worker.service", "jobservice-scheduler.service"]
)
def test_systemd_units_start_our_commands(unit: str) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(DEPLOY / "systemd" / unit)
    command = shlex.split(parser["Service"]["ExecStart"])
    command[0] = Path(command[0]).name
    assert_runnable(command)
    assert parser["Service"]["EnvironmentFile"] == "/etc/jobservice/env"
    if unit != "jobservice-web@.service":
        # Restarted, not so fast that an outage exhausts systemd's start limit (5 in 10 s) for good.
        assert parser["Service"]["Restart"] in ("always", "on-failure")
        assert float(parser["Service"]["RestartSec"]) >= 3


def test_the_nginx_site_neither_buffers_nor_compresses_streams() -> None:
    site = (DEPLOY / "nginx" / "jobservice.conf").read_text()
    streams = site[site.index("location ~") :]
    for directive in (
        "proxy_buffering off;",
        "gzip off;",
        "proxy_read_timeout 1h;",
        "proxy_http_version 1.1;",
    ):
        assert directive in streams


def test_the_nginx_site_logs_no_query_string_and_forwards_the_scheme() -> None:
    site = (DEPLOY / "nginx" / "jobservice.conf").read_text()
    code = "\n".join(line.split("#", 1)[0] for line in site.splitlines())  # directives, not comments
    formats = dict(re.findall(r"\blog_format\s+(\w+)\s+(.*?);", code, re.DOTALL))
    assert formats, "nginx's default format logs $request, the query string (?token=) with it"
    for name, layout in formats.items():
        assert "$uri" in layout, name
        # $request is the request line, query included; $request_method and $request_time are not.
        assert not re.search(r"\$(request|request_uri|args|query_string)\b|\$arg_", layout), name
    access_logs = re.findall(r"\baccess_log\s+([^;]+);", code)
    assert access_logs, "an access_log names the format"
    for directive in access_logs:
        words = directive.split()
        assert words == ["off"] or (len(words) >= 2 and words[1] in formats), directive
    locations = code.split("location ")[1:]
    assert len(locations) == 2
    for location in locations:
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in location


def tenants_made(redis_url: str, *tenants: str) -> list[str]:
    """Keys of ``tenants`` made in that Redis, as another clone's first start (or its admin) did."""

    async def make() -> list[str]:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return [(await Credentials(client=client).create(tenant))[1] for tenant in tenants]
        finally:
            await client.aclose()

    return asyncio.run(make())


def everything_in(redis_server: RedisServer) -> dict[bytes, bytes | None]:
    client = redis_server.client()
    return {key: client.dump(key) for key in client.scan_iter()}


@pytest.fixture
def foreign_redis() -> Iterator[RedisServer]:
    """A Redis holding another clone's tenant, as a shared system Redis on 6379 may."""
    with redis_running() as server:
        tenants_made(server.url, "someone-else")
        yield server


class FirstStart:
    """``deploy/stack.py`` as a clean clone starts it: nothing configured but what the test passes."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.state = tmp_path / "state"
        self.data_dir = tmp_path / "redis"
        self.log_path = tmp_path / "stack.log"
        self._log = self.log_path.open("wb")
        clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "JOB_MODULES", "ADMIN_TOKEN")}
        command = [
            sys.executable,
            "deploy/stack.py",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        self.process = subprocess.Popen(
            [*command, *args],
            cwd=REPO_ROOT,
            env={**clean, "STATE_DIR": str(self.state), **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def serving(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the stack exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        finally:
            self._log.close()


@pytest.mark.slow
def test_a_redis_on_the_default_address_with_another_clones_tenants_is_left_for_an_embedded_one(
    foreign_redis: RedisServer, tmp_path: Path
) -> None:
    before = everything_in(foreign_redis)
    stack = FirstStart(tmp_path, "--local-redis", foreign_redis.url)  # where 6379 would be
    try:
        wait_until(
            lambda: stack.serving() and "Log in to the dashboard" in stack.log(),
            timeout=STARTUP_TIMEOUT,
            what="the stack's login link",
        )
        key = (stack.state / "local-key").read_text().strip()
        jobs = httpx.get(f"http://127.0.0.1:{stack.port}/jobs", headers=bearer(key), timeout=10)
        assert jobs.status_code == 200, "the README's KEY=$(cat var/local-key) works"
    finally:
        assert stack.stop() == 0, stack.log()
    log = stack.log()
    says = [line for line in log.splitlines() if "is not this clone's" in line]
    assert len(says) == 1 and "1 tenant(s) this clone did not make" in says[0], log
    assert "using an embedded Redis" in says[0] and f"REDIS_URL={foreign_redis.url}" in says[0]
    assert "(embedded)" in log and f"Log in to the dashboard: http://127.0.0.1:{stack.port}/#key={key}" in log
    assert everything_in(foreign_redis) == before, "nothing was written into the other clone's Redis"


def test_the_redis_on_the_default_address_is_used_again_by_the_clone_whose_key_it_holds(
    foreign_redis: RedisServer, tmp_path: Path
) -> None:
    (ours,) = tenants_made(foreign_redis.url, "local")
    (tmp_path / "local-key").write_text(ours + "\n")
    env = {**os.environ, "STATE_DIR": str(tmp_path)}

    def verdict() -> str:
        command = [sys.executable, "-m", "service.auth.bootstrap", foreign_redis.url]
        checked = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True)
        return checked.stdout.splitlines()[0]

    assert verdict() == "ours"
    (tmp_path / "local-key").write_text("jk_0000_not-a-key\n")
    assert verdict() == "foreign"


@pytest.mark.slow
def test_a_redis_url_with_tenants_but_no_key_of_this_clone_gets_the_command_that_makes_one(
    foreign_redis: RedisServer, tmp_path: Path
) -> None:
    stack = FirstStart(tmp_path, REDIS_URL=foreign_redis.url)
    try:
        wait_until(stack.serving, timeout=STARTUP_TIMEOUT, what="the stack's web server")
        log = stack.log()
        assert "Log in to the dashboard" not in log and "no login link" in log, log
        (said,) = [line for line in log.splitlines() if "no login link" in line]
        assert "1 tenant(s) this clone did not make" in said, said
        command = said.split("make one with: ", 1)[1]
        assert "jobctl" in command and "keys create" in command
        subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=REPO_ROOT, check=True, timeout=60)
        key = (stack.state / "local-key").read_text().strip()
        jobs = httpx.get(f"http://127.0.0.1:{stack.port}/jobs", headers=bearer(key), timeout=10)
        assert jobs.status_code == 200, "the command's key is the README's var/local-key, and it works"
    finally:
        assert stack.stop() == 0, stack.log()


def test_a_busy_web_port_is_one_line_naming_port_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        clean = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        ran = subprocess.run(
            [
                sys.executable,
                "deploy/stack.py",
                "--embedded",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "r"),
            ],
            cwd=REPO_ROOT,
            env={**clean, "STATE_DIR": str(tmp_path / "state")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert ran.returncode != 0
    assert ran.stdout == "", "no 'API on …' for a server that is not ours"
    assert ran.stderr.splitlines() == [f"stack: Port {port} on 127.0.0.1 is in use; start with --port N"]
    assert not (tmp_path / "r").exists(), "no Redis was started"
    assert not (tmp_path / "state").exists(), "no web server made keys"
