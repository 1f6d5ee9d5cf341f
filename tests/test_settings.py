"""Settings come from the environment, each declared once, and the README's tables are theirs."""

from __future__ import annotations

import re

import pytest

from actors.contracts.settings import ContractSettings
from actors.jobs.settings import JobSettings, SettingsError
from service.settings import LAYERS, WebSettings, readme_tables

from .support.servers import REPO_ROOT

ALL_LAYERS = (JobSettings, ContractSettings, WebSettings)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No variable of any layer set, whatever the machine or the test session sets."""
    for layer in ALL_LAYERS:
        for name in layer.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean_env: pytest.MonkeyPatch) -> None:
    settings = JobSettings.from_env()
    assert settings == JobSettings.defaults()
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.result_ttl == 86400 and settings.job_modules == () and settings.job_retries == {}
    assert WebSettings.from_env().sync_wait_limit == 90
    assert WebSettings.from_env().sse_heartbeat_interval <= 15, "under every proxy's idle limit"


def test_values_are_read_and_typed(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in {
        "REDIS_URL": "redis://r:1/2",
        "RESULT_TTL": "60",
        "JOB_MODULES": "a.b, c",
        "JOB_RETRIES": "score_contracts=5/15/600",
        "JOB_TIME_LIMITS": "audit_contracts=300",
        "WORKER_METRICS": "true",
        "SYNC_WAIT_LIMIT": "2.5",
        "CORS_ORIGINS": "https://a.example/, https://b.example",
        "LLM_API_KEY": "sk-secret",
        "PENDING_TTL": "",  # empty is unset
    }.items():
        clean_env.setenv(name, value)
    engine, web, contracts = JobSettings.from_env(), WebSettings.from_env(), ContractSettings.from_env()
    assert (engine.redis_url, engine.result_ttl, engine.job_modules) == ("redis://r:1/2", 60, ("a.b", "c"))
    assert engine.job_retries["score_contracts"] == (5, 15.0, 600.0)
    assert engine.job_time_limits == {"audit_contracts": 300.0} and engine.worker_metrics is True
    assert engine.pending_ttl == JobSettings.defaults().pending_ttl
    assert web.sync_wait_limit == 2.5 and web.cors_origins == ("https://a.example", "https://b.example")
    assert contracts.llm_api_key.get_secret_value() == "sk-secret" and "sk-secret" not in repr(contracts)


@pytest.mark.parametrize(
    "name,value",
    [
        ("RESULT_TTL", "soon"),
        ("LEASE_GRACE", "-1"),
        ("LOG_FORMAT", "xml"),
        ("WORKER_METRICS", "maybe"),
        ("JOB_RETRIES", "score_contracts=5"),
        ("JOB_RETRIES", "score_contracts=1/60/10"),
        ("JOB_TIME_LIMITS", "score_contracts"),
        ("JOB_TIME_LIMITS", "score_contracts=0"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        JobSettings.from_env()


def test_any_origin_with_credentials_refuses_to_start(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CORS_ORIGINS", "*")
    clean_env.setenv("CORS_CREDENTIALS", "true")
    with pytest.raises(SettingsError, match="exact origins"):
        WebSettings.from_env()


def test_the_readme_configuration_tables_are_the_declared_settings() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    found = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", readme, re.DOTALL)
    assert found is not None, "the README marks its configuration tables"
    assert found.group(1).strip() == readme_tables(), (
        "README.md's configuration tables differ from the declarations; paste the output of "
        "`python -m service.settings` between the settings markers"
    )
    declared = [name for _, _, layer in LAYERS for name in layer.model_fields]
    assert len(declared) == len(set(declared)), "no setting is declared in two layers"
