"""When a waiting job should start (``fleet.start_estimate``): the threads' current runs count by
what is left of them, and the jobs ahead take the threads as they free up."""

from __future__ import annotations

import pytest

from actors.jobs.fleet import start_estimate


@pytest.mark.parametrize(
    ("slots", "elapsed", "ahead", "expected"),
    [
        (4, [], 0, 0.0),  # idle threads: at once
        (4, [9.0, 9.0, 9.0], 0, 0.0),  # a thread is free
        (4, [9.0, 9.0, 9.0, 9.0], 0, 1.0),  # all busy, each nearly done
        (1, [0.0], 0, 10.0),  # the one thread has just begun a run
        (2, [0.0, 0.0], 3, 20.0),  # two rounds of runs before this one starts
        (2, [5.0, 0.0], 1, 10.0),  # the one ahead takes the thread freed at 5 s; ours the one at 10
        (1, [30.0], 0, 1.0),  # a run past its usual time is taken to end soon, not to have ended
    ],
)
def test_the_start_of_a_waiting_job_counts_busy_threads(
    slots: int, elapsed: list[float], ahead: int, expected: float
) -> None:
    assert start_estimate(10.0, slots, elapsed, ahead) == pytest.approx(expected)


def test_a_long_queue_is_extrapolated_past_the_horizon() -> None:
    assert start_estimate(2.0, 4, [], 100_000) == pytest.approx(50_000.0)
