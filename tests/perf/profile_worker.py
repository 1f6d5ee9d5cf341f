"""Profile: where one worker process spends its time per no-op job (py-spy, sampled).

    .venv/bin/pip install -e ".[perf]"
    .venv/bin/python -m tests.perf.profile_worker [--jobs 4000] [--gil]

Sends the jobs with no worker running, starts one worker process with 8 threads, samples it with
py-spy from its first job done to its last (200 samples a second, every thread not idle; with
``--gil``, only the thread holding the GIL: where the process's CPU goes), then prints the
functions that hold the most samples, on their own and with what they call, and the CPU time
the worker process spent per job (user + system, from ``/proc``).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.servers import REPO_ROOT, RedisServer, service_env, wait_until

SHOWN = 25


def summary(folded: Path) -> None:
    own: collections.Counter[str] = collections.Counter()
    within: collections.Counter[str] = collections.Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in {frame.split(" (")[0] for frame in frames}:
            within[frame] += int(count)
    print(f"{total} samples; own time:")
    for frame, count in own.most_common(SHOWN // 2):
        print(f"  {100 * count / total:5.1f}%  {frame[:120]}")
    print("with what they call:")
    for frame, count in within.most_common(SHOWN):
        print(f"  {100 * count / total:5.1f}%  {frame[:120]}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def profile(jobs: int, gil: bool) -> None:
    redis_server = RedisServer()
    redis_server.start()
    os.environ.update(service_env(redis_server.url))
    import actors
    from actors.jobs import keys
    from actors.jobs.submit import submit_job

    client = redis_server.client()
    folded = Path(tempfile.mkdtemp()) / "worker.folded"
    try:
        for _ in range(jobs):
            submit_job(actors.engine, "quick_steps", {"steps": 0})
        worker = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "actors", "--processes", "1", "--threads", "8"],
            cwd=REPO_ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        done = lambda: jobs - client.zcard(keys.ACTIVE)  # noqa: E731  (the metrics come a second late)
        wait_until(lambda: done() >= 1, timeout=60, what="the first job", interval=0.002)
        # The worker process is the child of Dramatiq's main process.
        child = int(subprocess.check_output(["pgrep", "-P", str(worker.pid)]).split()[0])
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        record = ["record", "-p", str(child), "-r", "200", "-f", "raw", "-o", str(folded), "--nonblocking"]
        record += ["--gil"] if gil else []
        first, cpu_before = done(), cpu_seconds(child)
        spy = subprocess.Popen(
            [py_spy, *record],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: done() >= jobs, timeout=600, what=f"{jobs} jobs", interval=0.05)
        cpu_per_job = (cpu_seconds(child) - cpu_before) / (jobs - first)
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
    finally:
        redis_server.stop()
    summary(folded)
    print(f"worker process CPU per job: {cpu_per_job * 1e6:.0f} µs (user + system, py-spy sampling in)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL")
    args = parser.parse_args()
    profile(args.jobs, args.gil)


if __name__ == "__main__":
    main()
