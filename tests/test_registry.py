"""Public job types and their argument checks, from the actors' own signatures."""

from __future__ import annotations

import pytest

import actors
from actors.errors import InvalidPayload, UnknownJobType
from actors.registry import get_public_job, job, public_jobs, validate_payload

from .conftest import WORKSPACE


def test_the_seed_job_types_are_public_and_maintenance_is_not() -> None:
    names = set(public_jobs(actors.broker))
    assert {"score_contracts", "audit_contracts"} <= names
    assert "prune_workers" not in names


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
        ({"criterion": 1, "workspace_name": WORKSPACE}, "criterion", "must be string, not integer"),
        ({"criterion": "c", "workspace_name": WORKSPACE, "max_score": True}, "max_score", "must be integer"),
        ({"criterion": "c", "workspace_name": WORKSPACE, "max_score": 1.5}, "max_score", "must be integer"),
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


def test_job_parameters_must_be_keyword_only_json_types() -> None:
    with pytest.raises(TypeError, match="keyword-only"):
        job()(lambda positional: None)
    with pytest.raises(TypeError, match="non-JSON"):

        def takes_bytes(*, blob: bytes) -> None: ...

        job()(takes_bytes)
