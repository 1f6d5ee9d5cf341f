"""Benchmark: searching and filtering a tenant's 10,000 kept jobs through ``GET /jobs``.

    .venv/bin/python -m tests.perf.bench_search [--jobs 10000] [--runs 30]

One Redis and one web process (no worker: the jobs are written as a worker would write them,
through the job store). The tenant's jobs are scoring jobs with realistic arguments (a workspace,
three to eight criteria), results (a few KB to about 20 KB of scores and evidence) and, for one in
five, an error; one in twenty is cancelled. Each query is sent ``--runs`` times, one after another:

    plain       the first page, no filter (the baseline, measured in the same run)
    q rare      text found in about 1 % of the jobs (an error's message)
    q none      text found nowhere: a page looks at its share (``MAX_SCANNED``) and answers a cursor
    q + status  text found in every job's arguments, FAILURE only
    range       a time range holding a tenth of the jobs, in the middle

Printed: each query's median and 95th percentile, their ratio to the plain listing, and how long
following ``next_cursor`` to the end takes for ``q none`` (the whole 10,000 looked at). The
target: every answer within 300 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import dramatiq
import httpx

from actors import GROUP_FIELD
from actors.jobs.clock import iso_time
from actors.jobs.ref import JobRef
from actors.jobs.states import JobStatus
from actors.jobs.store import JobStore
from service.routes.jobs import MAX_SCANNED
from tests.support.api import bearer, new_key
from tests.support.servers import RedisServer, WebServer

TENANT = "bench-search"
CRITERIA = [
    "Termination for convenience requires 30 days notice",
    "Liability is capped at the fees paid in the last twelve months",
    "Governing law is the State of New York",
    "Either party may assign with consent, not unreasonably withheld",
    "Confidentiality survives termination for five years",
    "Indemnification covers third-party intellectual property claims",
    "Payment is due within 45 days of invoice",
    "The agreement renews automatically for one-year terms",
]
ERRORS = [
    ("LLMError", "The model answered 429 Too Many Requests three times; giving up"),
    ("DocumentError", "Document lease.pdf could not be read: the PDF is encrypted"),
    ("TimeoutError", "The job ran longer than its time limit of 600 s"),
    ("WorkspaceError", "Workspace {w} has no documents left: they were deleted while the job waited"),
]
RARE = "disk quota exceeded on volume"


def fill(store: JobStore, jobs: int, rng: random.Random) -> list[str]:
    """Write ``jobs`` finished scoring jobs of ``TENANT``; their ids, oldest first."""
    ids = []
    for n in range(jobs):
        workspace = f"deal-{n % 37}"
        kwargs = {"workspace": workspace, "criteria": rng.sample(CRITERIA, rng.randint(3, 8))}
        message = dramatiq.Message(
            queue_name="default",
            actor_name="score_contracts",
            args=(),
            kwargs=kwargs,
            options={"namespace": TENANT},
        )
        store.create(
            JobRef(message.message_id, namespace=TENANT, group=workspace),
            "score_contracts",
            message=message.encode(),
        )
        ref = JobRef(message.message_id, namespace=TENANT, group=workspace)
        store.transition(ref, JobStatus.STARTED, started_at=iso_time(time.time() - 5))
        roll = rng.random()
        if roll < 0.01:
            error = {"type": "OSError", "message": f"{RARE} /srv/{n}"}
            store.transition(ref, JobStatus.FAILURE, error=error)
        elif roll < 0.2:
            kind, text = rng.choice(ERRORS)
            error = {"type": kind, "message": text.format(w=workspace)}
            store.transition(ref, JobStatus.FAILURE, error=error)
        elif roll < 0.25:
            store.transition(ref, JobStatus.CANCELLED)
        else:
            store.transition(ref, JobStatus.SUCCESS, result=_result(kwargs, rng))
        ids.append(message.message_id)
    return ids


def _result(kwargs: dict, rng: random.Random) -> dict:
    documents = [f"contract-{i}.pdf" for i in range(rng.randint(1, 6))]
    return {
        "workspace": kwargs["workspace"],
        "documents": [
            {
                "document": name,
                "scores": [
                    {
                        "criterion": criterion,
                        "score": round(rng.random(), 3),
                        "evidence": [
                            {
                                "start": rng.randint(0, 90_000),
                                "quote": "The Supplier shall indemnify the Customer against all claims "
                                "arising out of any breach of this Agreement. " * rng.randint(1, 3),
                            }
                        ],
                    }
                    for criterion in kwargs["criteria"]
                ],
            }
            for name in documents
        ],
    }


def timed(client: httpx.Client, params: dict, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/jobs", params=params)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    return times


def whole(client: httpx.Client, params: dict) -> tuple[float, int, int]:
    """Following ``next_cursor`` to the end: seconds, pages, rows."""
    started, pages, rows, cursor = time.perf_counter(), 0, 0, None
    while True:
        page = client.get("/jobs", params={**params, **({"cursor": cursor} if cursor else {})}).json()
        pages, rows, cursor = pages + 1, rows + len(page["jobs"]), page["next_cursor"]
        if cursor is None:
            return time.perf_counter() - started, pages, rows


def summary(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def bench(jobs: int, runs: int) -> None:
    redis_server = RedisServer()
    redis_server.start()
    web = WebServer(redis_server, RATE_LIMIT_PER_MINUTE="0")
    try:
        store = JobStore(client=redis_server.client(), group_field=GROUP_FIELD)
        started = time.perf_counter()
        ids = fill(store, jobs, random.Random(7))
        filled = time.perf_counter() - started
        used = redis_server.client().info("memory")["used_memory_human"]
        with httpx.Client(base_url=web.base_url, headers=bearer(new_key(web, TENANT)), timeout=60) as client:
            snapshots = [client.get(f"/jobs/{ids[i]}").json() for i in (jobs * 9 // 20, jobs * 11 // 20)]
            queries = {
                "plain": {},
                "q rare": {"q": RARE.upper()},
                "q none": {"q": "no job says this"},
                "q + status": {"q": "governing law", "status": "FAILURE"},
                "range": {"since": snapshots[0]["created_at"], "until": snapshots[1]["created_at"]},
            }
            timed(client, {}, 5)  # warm up
            results = {name: timed(client, params, runs) for name, params in queries.items()}
            followed = whole(client, queries["q none"])
    finally:
        web.stop()
        redis_server.stop()
    print(f"{jobs} finished jobs of one tenant written in {filled:.1f} s; Redis uses {used}")
    print(f"MAX_SCANNED = {MAX_SCANNED} jobs a page; {runs} runs of each query")
    base, _ = summary(results["plain"])
    for name, times in results.items():
        p50, p95 = summary(times)
        print(f"  {name:<11} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  x{p50 / base:5.1f} the plain listing")
    seconds, pages, found = followed
    print(f"  q none, followed to the end: {seconds * 1000:.0f} ms in {pages} pages, {found} rows")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    arguments = parser.parse_args()
    bench(arguments.jobs, arguments.runs)


if __name__ == "__main__":
    main()
