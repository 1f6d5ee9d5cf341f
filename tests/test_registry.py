"""Public job types and their argument checks, from the actors' own signatures.

These run in the test process, on the broker that importing ``actors`` built (its Redis is the
test process's own); the job types' checks read the ``acme`` workspace stored there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import actors
from actors.jobs import JobContext, job
from actors.jobs.errors import InvalidPayload, UnknownJobType
from actors.jobs.registry import get_public_job, job_spec, public_jobs, validate_payload

from .conftest import WORKSPACE, WORKSPACE_FILES
from .support.api import TENANT


@pytest.fixture(scope="module", autouse=True)
def in_process_workspace() -> None:
    actors.resources.documents.add(TENANT, WORKSPACE, WORKSPACE_FILES)


@pytest.fixture
def declared() -> Iterator[list[str]]:
    """Actor names a test declares on the service's broker; they are removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        actors.broker.actors.pop(name, None)


def test_the_seed_job_types_are_public_and_grouped_by_workspace_and_maintenance_is_not() -> None:
    names = set(public_jobs(actors.broker))
    assert {"score_contracts", "audit_contracts"} <= names
    assert "prune_workers" not in names
    spec = job_spec(actors.broker, "score_contracts")
    assert spec is not None and spec.group_of({"workspace_name": "acme", "criterion": "c"}) == "acme"


def test_unknown_job_type_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownJobType) as caught:
        get_public_job(actors.broker, "nope")
    assert "score_contracts" in caught.value.valid


def test_valid_payload_fills_only_given_fields() -> None:
    actor = get_public_job(actors.broker, "score_contracts")
    kwargs = validate_payload(
        actor, {"criterion": "pays on time", "workspace_name": WORKSPACE, "max_score": 10}
    )
    assert kwargs == {"criterion": "pays on time", "workspace_name": WORKSPACE, "max_score": 10}


@pytest.mark.parametrize(
    "payload,field,problem",
    [
        ({"workspace_name": WORKSPACE}, "criterion", "required"),
        ({"criterion": 1, "workspace_name": WORKSPACE}, "criterion", "must be a valid string, not integer"),
        (
            {"criterion": "c", "workspace_name": WORKSPACE, "max_score": True},
            "max_score",
            "must be a valid integer",
        ),
        (
            {"criterion": "c", "workspace_name": WORKSPACE, "max_score": 1.5},
            "max_score",
            "must be a valid integer",
        ),
        (
            {"criterion": "c", "workspace_name": WORKSPACE, "compare_chatgpt": "yes"},
            "compare_chatgpt",
            "boolean",
        ),
        ({"criterion": "c", "workspace_name": WORKSPACE, "extra": 1}, "extra", "unexpected field"),
    ],
)
def test_invalid_payloads_name_the_field(payload: dict, field: str, problem: str) -> None:
    actor = get_public_job(actors.broker, "score_contracts")
    with pytest.raises(InvalidPayload) as caught:
        validate_payload(actor, payload)
    assert problem in caught.value.problems[field]


def test_optional_list_accepts_null_and_list() -> None:
    actor = get_public_job(actors.broker, "audit_contracts")
    assert validate_payload(actor, {"workspace_name": WORKSPACE, "checklist": None})["checklist"] is None
    assert validate_payload(actor, {"workspace_name": WORKSPACE, "checklist": ["x"]})["checklist"] == ["x"]


def test_a_renamed_actor_keeps_its_check(declared: list[str]) -> None:
    seen: list[dict[str, Any]] = []

    def refuse_odd(arguments: dict[str, Any], context: JobContext) -> None:
        seen.append(arguments)
        if arguments["n"] % 2:
            raise InvalidPayload("n must be even", problems={"n": "odd"})

    name = f"renamed_{uuid.uuid4().hex[:6]}"
    declared.append(name)

    @job(actor_name=name, check=refuse_odd)
    def count_to(*, n: int) -> int:
        return n

    actor = get_public_job(actors.broker, name)
    assert validate_payload(actor, {"n": 2}) == {"n": 2}
    with pytest.raises(InvalidPayload, match="even"):
        validate_payload(actor, {"n": 3})
    assert seen == [{"n": 2}, {"n": 3}], "the check ran under the actor's name, not the function's"


def test_job_parameters_must_be_keyword_only_json_types_and_groups_name_a_string() -> None:
    with pytest.raises(TypeError, match="keyword-only"):
        job()(lambda positional: None)

    def takes_bytes(*, blob: bytes) -> None: ...

    with pytest.raises(TypeError, match="non-JSON"):
        job()(takes_bytes)

    def grouped_by_a_number(*, batch: int) -> None: ...

    with pytest.raises(TypeError, match="group_by"):
        job(group_by="batch")(grouped_by_a_number)
    with pytest.raises(TypeError, match="group_by"):
        job(group_by="missing")(grouped_by_a_number)
