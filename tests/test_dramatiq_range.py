"""The Dramatiq releases pyproject.toml allows are the ones CI tests: from the lowest, on which
``deploy/test-dramatiq-range.sh`` runs the engine's tests, to below the next minor release after
the highest, on which the whole suite runs (``deploy/dramatiq-range.sh`` names both)."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib

from packaging.requirements import Requirement
from packaging.version import Version

from .support.servers import REPO_ROOT


def ci_versions() -> dict[str, Version]:
    text = (REPO_ROOT / "deploy" / "dramatiq-range.sh").read_text()
    return {name: Version(value) for name, value in re.findall(r"^([A-Z_]+)=(\S+)", text, re.M)}


def required(name: str) -> Requirement:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return next(r for r in map(Requirement, project["dependencies"]) if r.name == name)


def bound(requirement: Requirement, operator: str) -> Version:
    (found,) = (Version(s.version) for s in requirement.specifier if s.operator == operator)
    return found


def test_dramatiqs_bound_is_the_range_ci_tests() -> None:
    versions, dramatiq = ci_versions(), required("dramatiq")
    lowest, highest = versions["DRAMATIQ_LOWEST"], versions["DRAMATIQ_HIGHEST"]
    assert bound(dramatiq, ">=") == lowest, "the lowest allowed is the one the engine's tests run on"
    assert bound(dramatiq, "<") == Version(f"{highest.major}.{highest.minor + 1}"), (
        "no minor release past the highest tested is allowed"
    )
    assert dramatiq.specifier.contains(highest)


def test_redis_pys_floor_is_the_one_ci_tests() -> None:
    assert bound(required("redis"), ">=") == ci_versions()["REDIS_LOWEST"]


def test_this_run_is_on_an_allowed_dramatiq() -> None:
    assert required("dramatiq").specifier.contains(importlib.metadata.version("dramatiq"))
