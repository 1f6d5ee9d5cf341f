"""Job types for the tests, loaded into workers and web alike with ``JOB_MODULES=tests.support.jobs``.

``gated_steps`` lets a test drive a running job one step at a time: each step waits until the test
pushes to the job's gate list, so no test needs to sleep and hope the job got somewhere.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors.jobs import job, report_progress

GATE_PREFIX = "tests:gate:"
GATE_TIMEOUT_S = 60


def gate_key(gate: str) -> str:
    return GATE_PREFIX + gate


@job(max_retries=0)
def quick_steps(*, steps: int = 3, result: str = "done") -> dict:
    for step in range(1, steps + 1):
        report_progress(100 * step / steps, f"Step {step}/{steps}")
    return {"steps": steps, "result": result}


@job(max_retries=0)
def gated_steps(*, gate: str, steps: int = 3) -> dict:
    client = dramatiq.get_broker().client
    deadline = time.monotonic() + GATE_TIMEOUT_S
    for step in range(1, steps + 1):
        while client.blpop([gate_key(gate)], timeout=2) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {gate!r} was not opened for step {step}")
        report_progress(100 * step / steps, f"Step {step}/{steps}")
    return {"steps": steps}


@job(max_retries=0)
def always_fails(*, reason: str = "boom") -> None:
    raise ValueError(reason)


@job(max_retries=2, min_backoff=50, max_backoff=200)
def flaky(*, failures: int = 1) -> dict:
    attempt = CurrentMessage.get_current_message().options.get("retries", 0) + 1
    if attempt <= failures:
        raise ConnectionError(f"flaky failure on attempt {attempt}")
    return {"attempts": attempt}


@job(max_retries=0)
def sleepy(*, seconds: float = 1.0) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}


@job(max_retries=0)
def busy(*, seconds: float = 30.0) -> dict:
    """Works without ever reporting progress: only an interruption stops it early."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return {"worked": seconds}


@job(max_retries=0)
def limited(*, seconds: float = 30.0) -> dict:
    """Like ``busy``; the tests give this job type a time limit of 1 s (JOB_TIME_LIMITS)."""
    return busy.fn(seconds=seconds)


@job(max_retries=3, min_backoff=5000, max_backoff=5000)
def slow_retry(*, failures: int = 1) -> dict:
    """Fails, then waits 5 s before its retry: long enough to be cancelled while it waits."""
    attempt = CurrentMessage.get_current_message().options.get("retries", 0) + 1
    if attempt <= failures:
        raise ConnectionError(f"failure on attempt {attempt}")
    return {"attempts": attempt}


@job(max_retries=0)
def swallows_errors(*, gate: str, steps: int = 3) -> dict:
    """Catches every ``Exception`` around its progress reports, as careless job code does."""
    client = dramatiq.get_broker().client
    for step in range(1, steps + 1):
        client.blpop([gate_key(gate)], timeout=GATE_TIMEOUT_S)
        try:
            report_progress(100 * step / steps, f"Step {step}/{steps}")
        except Exception:  # the point: a cancellation must get through anyway
            continue
    return {"steps": steps}


@job(max_retries=0)
def paced_steps(*, steps: int = 5, pause: float = 0.2) -> dict:
    """Reports a step every ``pause`` seconds, touching Redis only through the engine (so a Redis
    outage reaches it only through its progress reports)."""
    for step in range(1, steps + 1):
        time.sleep(pause)
        report_progress(100 * step / steps, f"Step {step}/{steps}")
    return {"steps": steps}


@job(max_retries=3, min_backoff=50, max_backoff=200)
def exclusive_steps(*, marks: str, steps: int = 10, pause: float = 0.2) -> dict:
    """``paced_steps`` that notes, in the folder ``marks``, a run of the job that began while
    another run of it had not ended (a file ``<job id>.overlap``): two runs at once."""
    job_id = CurrentMessage.get_current_message().message_id
    running = Path(marks) / f"{job_id}.running"
    try:
        os.close(os.open(running, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        (Path(marks) / f"{job_id}.overlap").touch()
        raise
    try:
        return paced_steps.fn(steps=steps, pause=pause)
    finally:
        running.unlink()
