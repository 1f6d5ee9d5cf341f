"""Benchmark: scoring 100 contracts of about five pages each, offline.

    .venv/bin/python -m tests.perf.bench_scoring [--contracts 100] [--pages 5]

Makes the contracts (seeded, so every run scores the same text): numbered clauses drawn from a
pool of realistic ones, a quarter of the contracts stating the criterion. Then measures, in one
run:

1. the scorer alone, in this process: reading the criterion (its reference weights), then each
   contract's score (the per-contract median is what a progress bar ticks at);
2. the whole job through the real stack: the contracts uploaded as PDFs to a web server, then
   ``POST /score`` waited on through the job's events, with a ``dramatiq`` worker doing the work
   and a progress event per contract; its total against the scorer's shows the job path's cost.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import httpx

from actors.contracts.scoring import Contract, ContractScorer
from tests.support.api import bearer, finished_now, new_key
from tests.support.contracts import make_pdf
from tests.support.servers import RedisServer, WebServer, start_workers

CRITERION = "Invoices must be paid within 30 days of receipt"
CRITERION_CLAUSE = "Payment. The Customer shall pay each invoice within 30 days of receipt of the invoice."
CLAUSES = [
    "Definitions. Capitalised terms have the meanings given to them in this Schedule.",
    "Services. The Supplier shall perform the Services with reasonable skill and care.",
    "Term. This Agreement starts on the Effective Date and continues for three years.",
    "Termination. Either party may terminate this Agreement on ninety days written notice.",
    "Confidentiality. Each party shall keep the other party's confidential information secret.",
    "Governing law. This Agreement is governed by the laws of England and Wales.",
    "Liability. In no event shall either party's aggregate liability exceed the annual fees.",
    "Indemnity. The Supplier shall indemnify the Customer against third party claims.",
    "Force majeure. Neither party is liable for delay caused by events beyond its reasonable control.",
    "Assignment. Neither party may assign this Agreement without the other party's consent.",
    "Data protection. Each party shall comply with data protection law when processing personal data.",
    "Audit. The Customer may audit the Supplier's records once a year on reasonable notice.",
    "Insurance. The Supplier shall maintain professional indemnity insurance of adequate amount.",
    "Notices. Notices shall be in writing and delivered by hand or by recorded delivery.",
    "Fees. The fees are set out in Schedule 2 and are exclusive of value added tax.",
    "Warranties. The Supplier warrants that the deliverables will conform to the specification.",
]
WORDS_PER_PAGE = 500


def make_contracts(count: int, pages: int, seed: int = 7) -> list[Contract]:
    rng = random.Random(seed)
    contracts = []
    for number in range(count):
        clauses, words = [], 0
        while words < pages * WORDS_PER_PAGE:
            clause = rng.choice(CLAUSES)
            padding = " ".join(rng.choice(clause.split()) for _ in range(rng.randint(20, 60)))
            clauses.append(f"{clause} {padding}.")
            words += len(clauses[-1].split())
        if number % 4 == 0:
            clauses.insert(rng.randrange(len(clauses)), CRITERION_CLAUSE)
        text = "\n\n".join(f"{i}. {clause}" for i, clause in enumerate(clauses, 1))
        contracts.append(Contract(doc_id=f"c{number:03d}", filename=f"contract-{number:03d}.pdf", text=text))
    return contracts


def bench_scorer(contracts: list[Contract]) -> tuple[float, float, list[float]]:
    started = time.perf_counter()
    scorer = ContractScorer(CRITERION, 100)
    index_s = time.perf_counter() - started
    per_contract = []
    for contract in contracts:
        tick = time.perf_counter()
        scorer.score(contract)
        per_contract.append(time.perf_counter() - tick)
    return time.perf_counter() - started, index_s, per_contract


def bench_stack(contracts: list[Contract]) -> tuple[float, float, int]:
    redis_server = RedisServer()
    redis_server.start()
    worker = start_workers(redis_server)
    web = WebServer(redis_server)
    try:
        headers = bearer(new_key(web))
        files = [("file", (c.filename, make_pdf(c.text))) for c in contracts]
        started = time.perf_counter()
        upload = httpx.post(
            f"{web.base_url}/workspaces/bench/documents", files=files, headers=headers, timeout=300
        )
        upload.raise_for_status()
        extraction = finished_now(web.base_url, upload.json()["job_id"], headers)  # read by the worker
        upload_s = time.perf_counter() - started
        pages = sum(d["pages"] or 0 for d in extraction["result"]["documents"])
        started = time.perf_counter()
        body = {"criterion": CRITERION, "workspace_name": "bench"}
        job = httpx.post(f"{web.base_url}/score", json=body, headers=headers, timeout=300)
        job_s = time.perf_counter() - started
        assert job.status_code == 200 and job.json()["status"] == "SUCCESS", job.text
        return upload_s, job_s, pages
    finally:
        web.stop()
        worker.stop()
        redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=100)
    parser.add_argument("--pages", type=int, default=5)
    args = parser.parse_args()
    contracts = make_contracts(args.contracts, args.pages)
    words = statistics.mean(len(c.text.split()) for c in contracts)
    print(
        f"{len(contracts)} contracts, {words:.0f} words each on average (~{words / WORDS_PER_PAGE:.1f} pages)"
    )

    total, index_s, per_contract = bench_scorer(contracts)
    print("1. the scorer alone (each contract on its own, against the criterion):")
    print(
        f"  total {total * 1000:.0f} ms: criterion {index_s * 1000:.0f} ms, then per contract median "
        f"{statistics.median(per_contract) * 1000:.2f} ms (max {max(per_contract) * 1000:.2f} ms)"
    )

    upload_s, job_s, pages = bench_stack(contracts)
    print("2. the whole job through the stack (PDF upload, POST /score waited on, one worker):")
    print(f"  upload and text extraction of {len(contracts)} PDFs ({pages} pages): {upload_s:.2f} s")
    print(
        f"  scoring job, request to result: {job_s:.2f} s ({job_s / len(contracts) * 1000:.1f} ms each), "
        f"{job_s / total:.1f}x the scorer alone (queueing, progress events, result storage)"
    )


if __name__ == "__main__":
    main()
