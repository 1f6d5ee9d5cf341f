"""Settings come from the environment, with documented defaults, and refuse bad values."""

from __future__ import annotations

import pytest

from actors.settings import (
    DEFAULT_REDIS_URL,
    DEFAULT_RESULT_TTL,
    DEFAULT_SYNC_WAIT_LIMIT,
    Settings,
    SettingsError,
)


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.from_env({})
    assert settings.redis_url == DEFAULT_REDIS_URL == "redis://localhost:6379/0"
    assert settings.result_ttl == DEFAULT_RESULT_TTL == 86400
    assert settings.sync_wait_limit == DEFAULT_SYNC_WAIT_LIMIT == 90
    assert settings.sse_heartbeat <= 15
    assert settings.job_modules == ()


def test_values_are_read_and_typed() -> None:
    settings = Settings.from_env(
        {"REDIS_URL": "redis://r:1/2", "RESULT_TTL": "60", "SYNC_WAIT_LIMIT": "2.5", "JOB_MODULES": "a.b, c"}
    )
    assert (settings.redis_url, settings.result_ttl, settings.sync_wait_limit) == ("redis://r:1/2", 60, 2.5)
    assert settings.job_modules == ("a.b", "c")


@pytest.mark.parametrize("name,value", [("RESULT_TTL", "soon"), ("SYNC_WAIT_LIMIT", "-1")])
def test_bad_values_are_refused_with_the_variable_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
