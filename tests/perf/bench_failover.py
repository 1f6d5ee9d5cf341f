"""Benchmark: a Redis failover under load, without and with ``DURABLE_WRITES``.

    .venv/bin/python -m tests.perf.bench_failover [--threads 8] [--runs 2]

Each run starts a primary, a replica and three Sentinels on loopback (``tests/support/sentinel.py``:
a primary is down after 1 s of silence) and the service's job store reached through the Sentinels.
``--threads`` writers each loop: create a job, then end it (SUCCESS); an end the store answered is
*acknowledged*. Two seconds in, the primary gets SIGKILL; the writers ride out the failover (their
writes retried as a worker's are) and go on for two seconds after it. Measured:

- the time from the kill to the Sentinels' promotion, and from the promotion to the first write
  the new primary answered;
- acknowledged ends lost: jobs whose end was acknowledged but which the new primary does not hold
  as SUCCESS (Redis replicates asynchronously: what the primary had not yet sent is gone);
- ends per second before the kill: the cost of waiting for the replica (``WAIT 1``) on each end.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid

from actors.jobs import keys
from actors.jobs.errors import StoreUnavailable
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from tests.support.sentinel import SentinelGroup
from tests.support.stack import engine_on

#: Seconds of load before the kill, and after the promotion.
STEADY_S = 2.0


def one_run(*, durable: bool, threads: int) -> dict[str, float]:
    group = SentinelGroup()
    group.start()
    try:
        sentinels = tuple(("127.0.0.1", port) for port in group.sentinel_ports)
        engine = engine_on(group.primary, redis_sentinels=sentinels, durable_writes=durable)
        acknowledged: list[str] = []
        first_after: list[float] = []
        killed_at = promoted_at = 0.0
        stop = threading.Event()

        def writer() -> None:
            while not stop.is_set():
                ref = JobRef(str(uuid.uuid4()))
                try:
                    engine.store.create(ref, "quick_steps")
                    engine.store.transition(ref, JobStatus.SUCCESS, result={"ok": True})
                except StoreUnavailable:
                    continue  # the job is abandoned: only answered ends count
                answered = time.monotonic()
                acknowledged.append(ref.job_id)
                if killed_at and answered > killed_at:
                    first_after.append(answered)

        workers = [threading.Thread(target=writer) for _ in range(threads)]
        started = time.monotonic()
        for worker in workers:
            worker.start()
        time.sleep(STEADY_S)  # a benchmark's load period, not a synchronisation
        before = len(acknowledged)
        rate = before / (time.monotonic() - started)
        killed_at = group.kill_primary()
        promoted_at = group.promoted(timeout=60)
        time.sleep(STEADY_S)
        stop.set()
        for worker in workers:
            worker.join()
        survivor = group.replica.client()
        lost = sum(1 for job_id in acknowledged if survivor.hget(keys.job(job_id), "status") != b'"SUCCESS"')
        return {
            "ends_per_s": rate,
            "promotion_s": promoted_at - killed_at,
            "serving_after_promotion_s": (min(first_after) - promoted_at) if first_after else float("nan"),
            "acknowledged": len(acknowledged),
            "lost": lost,
        }
    finally:
        group.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for _ in range(args.runs):
        for durable in (False, True):  # interleaved: both modes see the same machine
            results[durable].append(one_run(durable=durable, threads=args.threads))
    for durable, runs in results.items():
        print(f"DURABLE_WRITES={'true' if durable else 'false'}")
        for run in runs:
            print(
                f"  ends/s before the kill {run['ends_per_s']:7.0f}"
                f"   kill→promotion {run['promotion_s']:.2f} s"
                f"   promotion→first answered write {run['serving_after_promotion_s']:.2f} s"
                f"   acknowledged ends lost {run['lost']:.0f} of {run['acknowledged']:.0f}"
            )
    ratios = [
        durable["ends_per_s"] / plain["ends_per_s"]
        for plain, durable in zip(results[False], results[True], strict=True)
    ]
    print("ends/s with DURABLE_WRITES / without (same run):", " ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
