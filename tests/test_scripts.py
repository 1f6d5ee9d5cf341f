"""Every Lua script of the engine (``actors/jobs/lua``), loaded by glob and run against a real Redis.

Each file must say what it takes before its code (its ``KEYS`` and ``ARGV``), and each is run
here through what calls it, with what it answers checked: a script added without a run here
fails ``test_every_script_is_run_here``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

import pytest
import redis

from actors.jobs import keys, scripts
from actors.jobs.errors import JobCancelled
from actors.jobs.fairness import FairShare
from actors.jobs.ref import JobRef
from actors.jobs.states import TERMINAL_STATES, JobStatus
from actors.jobs.store import HELD, JobStore

Run = Callable[[JobStore], None]


def _new(store: JobStore, *, group: str | None = None) -> JobRef:
    ref = JobRef(str(uuid.uuid4()), namespace="scripts", group=group)
    assert store.create(ref, "score_contracts") is not None
    return ref


def run_create(store: JobStore) -> None:
    ref = _new(store, group="ws")
    assert store.create(ref, "score_contracts") is None, "a second create of the same id is refused"
    assert store.snapshot(ref.job_id, namespace="scripts")["status"] == "PENDING"


def run_claim(store: JobStore) -> None:
    ref = _new(store)
    started = store.claim(ref.as_run("a"), lease=30)
    assert started["status"] == "STARTED" and started["attempt"] == 1
    assert store.claim(ref.as_run("b"), lease=30) == HELD, "a live lease holds the job"


def run_progress(store: JobStore) -> None:
    ref = _new(store)
    store.claim(run := ref.as_run("a"), lease=30)
    assert store.progress(run, 40, "reading")["progress"] == 40
    assert store.progress(ref.as_run("stale"), 50) is None, "another run's report is fenced out"
    store.client.set(keys.cancel_flag(ref.job_id), "1")
    with pytest.raises(JobCancelled):
        store.progress(run, 60)


def run_update(store: JobStore) -> None:
    ref = _new(store)
    assert store.transition(ref, JobStatus.STARTED, only_from=JobStatus.SUCCESS) is None
    assert store.transition(ref, JobStatus.SUCCESS, result={"n": 1})["result"] == {"n": 1}
    assert store.transition(ref, JobStatus.FAILURE) is None, "a finished job takes no change"


def run_reap(store: JobStore) -> None:
    ref = _new(store)
    store.claim(ref.as_run("a"), lease=30)
    assert store.reap(ref, JobStatus.FAILURE, lapsed_for=0) is None, "a live lease is not reaped"
    store.claim(other := _new(store).as_run("b"), lease=-1)
    assert (
        store.reap(JobRef(other.job_id, other.namespace), JobStatus.FAILURE, lapsed_for=0)["status"]
        == "FAILURE"
    )


def run_cancel(store: JobStore) -> None:
    waiting, running = _new(store), _new(store)
    store.claim(running.as_run("a"), lease=30)
    assert store.request_cancel(waiting.job_id, namespace="scripts")["status"] == "CANCELLED"
    flagged = store.request_cancel(running.job_id, namespace="scripts")
    assert flagged["status"] == "STARTED" and flagged["message"].startswith("Cancellation requested")
    assert store.cancel_requested([running.job_id, waiting.job_id]) == {running.job_id, waiting.job_id}
    assert store.request_cancel(running.job_id, namespace="another") is None


def run_link_retry(store: JobStore) -> None:
    ref = _new(store, group="ws")
    ended = store.transition(ref, JobStatus.FAILURE)
    linked = store.link_retry(ref, "the-new-job")
    assert (linked["retried_by"], linked["status"], linked["seq"]) == (
        "the-new-job",
        "FAILURE",
        ended["seq"] + 1,
    )


def run_renew_leases(store: JobStore) -> None:
    kept, lost = _new(store), _new(store)
    store.claim(kept.as_run("a"), lease=30)
    store.claim(lost.as_run("b"), lease=30)
    assert store.renew({kept.job_id: "a", lost.job_id: "not-b"}, lease=30) == {lost.job_id}


def run_read_owned(store: JobStore) -> None:
    ref = _new(store)
    read = scripts.register(store.client)["read_owned"]
    assert read(keys=[keys.job(ref.job_id)], args=[json.dumps("scripts"), "fields", "status"]) == [
        b'"PENDING"'
    ]
    assert read(keys=[keys.job(ref.job_id)], args=[json.dumps("another"), "fields", "status"]) is None


def run_search_batch(store: JobStore) -> None:
    ref = _new(store)
    search = scripts.register(store.client)["search_batch"]
    namespace = json.dumps("scripts")
    job_keys = [keys.job(ref.job_id), keys.job_message(ref.job_id)]
    found = search(keys=job_keys, args=[namespace, "", "", "", "", 5, "", "", "job_id"])
    assert found == [1, [[json.dumps(ref.job_id).encode()]]]


def run_unpark(store: JobStore) -> None:
    store.client.rpush(keys.parked("scripts"), "a message")
    store.client.sadd(keys.PARKED, "scripts")
    FairShare(client=store.client)._unpark(
        keys=[keys.parked("scripts"), keys.PARKED], args=["a message", "scripts"]
    )
    assert not store.client.exists(keys.parked("scripts")) and not store.client.sismember(
        keys.PARKED, "scripts"
    )


RUNS: dict[str, Run] = {
    name.removeprefix("run_"): fn for name, fn in globals().items() if name.startswith("run_")
}


def test_every_script_is_run_here() -> None:
    assert set(scripts.sources()) == set(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_each_script_runs_against_redis(name: str, job_store: JobStore, redis_client: redis.Redis) -> None:
    RUNS[name](job_store)


@pytest.mark.parametrize("path", sorted(scripts.LUA.rglob("*.lua")), ids=lambda path: path.name)
def test_each_script_opens_with_what_it_takes(path) -> None:  # type: ignore[no-untyped-def]
    header = "\n".join(re.findall(r"^--.*$", path.read_text().split("\nlocal ", 1)[0], re.M))
    assert "KEYS" in header and "ARGV" in header


def test_the_scripts_know_the_terminal_states_the_engine_does() -> None:
    lua = scripts.SHARED.read_text()
    declared = set(re.findall(r"\['\"(\w+)\"'\] = true", lua.split("local TERMINAL", 1)[1].split("\n", 1)[0]))
    assert declared == {status.value for status in TERMINAL_STATES}
