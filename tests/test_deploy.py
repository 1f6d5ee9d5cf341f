"""The deployment files: they parse, name every part of the stack, and run commands that exist."""

from __future__ import annotations

import configparser
import importlib.metadata
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

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
