"""Benchmark: how long another tenant's small job waits for a thread while one tenant floods.

    .venv/bin/python -m tests.perf.bench_fairness [--runs 2]

Each measurement has a stack of its own: Redis, one web process and one worker process with 4
threads, and two tenants whose keys exist before the worker starts. The neighbour's small job is
a scoring of a one-contract workspace; the time measured is from its ``POST`` to its
``started_at`` (the same machine's clock). It is measured alone on an idle stack (the baseline),
and 1 s after the flooder sent one of three floods:

- ``uploads``: 300 one-file uploads (300 ``extract_documents`` jobs);
- ``audits``: 40 audits of a workspace of many long contracts (each takes seconds);
- ``huge uploads``: 8 uploads of ``MAX_FILES_PER_UPLOAD`` files each (one long job each);

each with ``FAIR_SHARE_RESERVE=0`` (no thread kept: the service before the fair share) and with
the default, 1. It prints the medians, and each one's ratio to the idle baseline measured in the
same run. The target: the neighbour's job starts within 5 s of being sent, whatever the flood.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx

from actors.contracts.documents import DocumentStore
from tests.support.api import bearer, finished, new_key
from tests.support.contracts import LEASE, NDA, SUPPLY
from tests.support.servers import RedisServer, ServiceProcess, WebServer, start_workers

THREADS = 4
FLOOD_HEAD_START_S = 1.0
#: The audits' workspace: contracts of about 30 KB each.
BIG_WORKSPACE_CONTRACTS = 60
FILES_PER_HUGE_UPLOAD = 100


def contract(number: int, repeat: int = 1) -> bytes:
    body = "\n\n".join(f"PART {number}.{part}\n\n{LEASE}\n{SUPPLY}\n{NDA}" for part in range(repeat))
    return body.encode()


class Stack:
    def __init__(self, reserve: int) -> None:
        self.redis = RedisServer()
        self.redis.start()
        env = {"FAIR_SHARE_RESERVE": str(reserve), "MAX_WORKSPACES_PER_TENANT": "1000"}
        self.web = WebServer(self.redis, **env)
        self.keys = {name: new_key(self.web, name) for name in ("flooder", "neighbour")}
        documents = DocumentStore(client=self.redis.client())
        documents.add("neighbour", "small", [("lease.txt", LEASE.encode())])
        documents.add(
            "flooder", "big", [(f"c{n}.txt", contract(n, repeat=15)) for n in range(BIG_WORKSPACE_CONTRACTS)]
        )
        self.workers: ServiceProcess = start_workers(self.redis, threads=THREADS, **env)

    def client(self, tenant: str) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=20)
        return httpx.AsyncClient(
            base_url=self.web.base_url, timeout=120, headers=bearer(self.keys[tenant]), limits=limits
        )

    def stop(self) -> None:
        self.workers.stop(timeout=2)
        self.web.stop()
        self.redis.stop()


async def flood_uploads(client: httpx.AsyncClient) -> None:
    async def one(n: int) -> None:
        answer = await client.post(
            f"/workspaces/u{n % 50}/documents", files={"file": (f"{n}.txt", contract(n))}
        )
        assert answer.status_code == 202, answer.text

    await asyncio.gather(*(one(n) for n in range(300)))


async def flood_audits(client: httpx.AsyncClient) -> None:
    for _ in range(40):
        answer = await client.post("/jobs/audit_contracts", json={"workspace_name": "big"})
        assert answer.status_code == 202, answer.text


async def flood_huge_uploads(client: httpx.AsyncClient) -> None:
    for upload in range(8):
        files = [
            ("file", (f"{upload}-{n}.txt", contract(10_000 * upload + n)))
            for n in range(FILES_PER_HUGE_UPLOAD)
        ]
        answer = await client.post(f"/workspaces/huge{upload}/documents", files=files)
        assert answer.status_code == 202, answer.text


FLOODS: dict[str, Callable[[httpx.AsyncClient], Awaitable[None]]] = {
    "uploads": flood_uploads,
    "audits": flood_audits,
    "huge uploads": flood_huge_uploads,
}


async def start_delay(client: httpx.AsyncClient) -> float:
    """Seconds from sending the neighbour's small job to its start."""
    sent = time.time()
    answer = await client.post(
        "/jobs/score_contracts",
        json={"criterion": "Invoices are paid within 30 days", "workspace_name": "small"},
    )
    assert answer.status_code == 202, answer.text
    job = await finished(client, answer.json()["job_id"])
    assert job["status"] == "SUCCESS", job
    return datetime.fromisoformat(job["started_at"]).timestamp() - sent


async def measure(flood: str | None, reserve: int) -> float:
    stack = await asyncio.to_thread(Stack, reserve)
    try:
        async with stack.client("flooder") as flooder, stack.client("neighbour") as neighbour:
            if flood is None:
                return await start_delay(neighbour)
            sending = asyncio.create_task(FLOODS[flood](flooder))
            await asyncio.sleep(FLOOD_HEAD_START_S)  # the flood has taken the worker
            delay = await start_delay(neighbour)
            sending.cancel()
            return delay
    finally:
        await asyncio.to_thread(stack.stop)


async def main(runs: int) -> None:
    alone = [await measure(None, 1) for _ in range(runs)]
    baseline = statistics.median(alone)
    print(f"the neighbour's small job alone: starts {baseline:.2f} s after it is sent (median of {runs})\n")
    print("| flood | FAIR_SHARE_RESERVE=0 | ratio to alone | FAIR_SHARE_RESERVE=1 | ratio to alone |")
    print("|---|---|---|---|---|")
    for flood in FLOODS:
        medians = []
        for reserve in (0, 1):
            medians.append(statistics.median([await measure(flood, reserve) for _ in range(runs)]))
        cells = " | ".join(f"{m:.2f} s | {m / baseline:.1f}x" for m in medians)
        print(f"| {flood} | {cells} |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2)
    asyncio.run(main(parser.parse_args().runs))
