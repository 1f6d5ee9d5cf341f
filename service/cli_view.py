"""What ``jobctl`` prints for people: a job's end in a few lines, and a table of jobs.

A job's result can be large (a score of 40 contracts is some 85 KB of JSON), so the end of a job
is summed up: its status and how long it ran, then its result in brief: a scoring's ranking by
document name (the first few), an audit's findings per contract, an extraction's counts, or any
other result's fields, each shortened. ``--json`` prints the whole snapshot instead. Like
``cli.py``, this module knows the API's JSON only: it imports nothing of the project.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

#: Characters of the progress bar.
BAR_WIDTH = 30
#: Entries of a ranking or a list of contracts shown before "… and N more".
TOP_ENTRIES = 5
#: Characters of a value shown before it is cut with "…".
MAX_VALUE_CHARS = 100
#: The table's columns: header and width (the job id is shown whole, to be copied).
TABLE_COLUMNS = (("JOB ID", 36), ("TYPE", 20), ("STATUS", 9), ("CREATED (UTC)", 19), ("DURATION", 8))


def job_summary(job: dict[str, Any]) -> list[str]:
    """A finished (or any) job in a few lines: status and duration, then its result or error."""
    took = duration(job)
    lines = [
        f"{job['status']}{f' in {took}' if took else ''}  ({job.get('job_type', 'job')} {job['job_id']})"
    ]
    if job.get("error"):
        lines.append(f"  {job['error'].get('type', 'Error')}: {cut(job['error'].get('message', ''))}")
    elif job["status"] != "SUCCESS" and job.get("message"):
        progress = f"{job['progress']:.1f}%  " if isinstance(job.get("progress"), int | float) else ""
        lines.append(f"  {progress}{cut(job['message'])}")
    if job["status"] == "SUCCESS" and job.get("result") is not None:
        lines.extend(f"  {line}" for line in result_summary(job["result"]))
    return lines


def result_summary(result: Any) -> list[str]:
    """A result in brief: known shapes by what they mean, anything else field by field."""
    if not isinstance(result, dict):
        return [f"result: {cut(_scalar(result))}"]
    if isinstance(result.get("ranking"), list) and isinstance(result.get("contracts"), list):
        return _scoring(result)
    if isinstance(result.get("contracts"), list) and "checklist" in result:
        return _audit(result)
    if isinstance(result.get("documents"), list) and "failed" in result:
        return _extraction(result)
    return [f"{name}: {_brief(value)}" for name, value in result.items()]


def _scoring(result: dict[str, Any]) -> list[str]:
    contracts = {c.get("doc_id"): c for c in result["contracts"] if isinstance(c, dict)}
    ranking = result["ranking"]
    lines = [
        f"{len(ranking)} {plural(len(ranking), 'contract')} scored: {cut(str(result.get('criterion', '')))}"
    ]
    for place, doc_id in enumerate(ranking[:TOP_ENTRIES], start=1):
        contract = contracts.get(doc_id, {})
        name = contract.get("filename") or doc_id
        score = contract.get("score")
        shown = f"{score:g}/{result.get('max_score', '?')}" if isinstance(score, int | float) else "-"
        lines.append(f"{place:>3}. {cut(str(name), 40):<40}  {shown:>9}  {contract.get('verdict', '')}")
    lines.extend(_more(len(ranking)))
    return lines


def _audit(result: dict[str, Any]) -> list[str]:
    contracts = result["contracts"]
    lines = [f"{len(contracts)} {plural(len(contracts), 'contract')} audited"]
    for contract in contracts[:TOP_ENTRIES]:
        lines.append(
            f"  {contract.get('filename') or contract.get('doc_id')}: {cut(contract.get('summary', ''))}"
        )
    lines.extend(_more(len(contracts)))
    return lines


def _extraction(result: dict[str, Any]) -> list[str]:
    read, failed = result["documents"], result.get("failed") or []
    lines = [f"{len(read)} {plural(len(read), 'document')} read, {len(failed)} failed"]
    lines.extend(f"  {f.get('filename')}: {cut(f.get('reason', ''))}" for f in failed[:TOP_ENTRIES])
    return lines


def _more(count: int) -> list[str]:
    hidden = count - TOP_ENTRIES
    return [f"  … and {hidden} more (--json for everything)"] if hidden > 0 else []


def _brief(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} {plural(len(value), 'entry', 'entries')}"
    if isinstance(value, dict):
        return f"{len(value)} {plural(len(value), 'field')}"
    return cut(_scalar(value))


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def cut(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``text`` on one line, at most ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def plural(count: int, singular: str, many: str | None = None) -> str:
    return singular if count == 1 else (many or singular + "s")


def duration(job: dict[str, Any]) -> str:
    """How long the job ran (from its start, else its creation, to its end), or ""."""
    start, end = _moment(job.get("started_at") or job.get("created_at")), _moment(job.get("finished_at"))
    if start is None or end is None:
        return ""
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _moment(stamp: Any) -> datetime | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def job_table(jobs: Iterable[dict[str, Any]]) -> list[str]:
    """Jobs as a table: id, type, status, created, duration."""
    rows = [[header for header, _ in TABLE_COLUMNS]]
    for job in jobs:
        created = (job.get("created_at") or "")[:19].replace("T", " ")
        rows.append([job["job_id"], job.get("job_type", ""), job["status"], created, duration(job) or "-"])
    return [
        "  ".join(
            f"{cut(str(cell), width):<{width}}" for cell, (_, width) in zip(row, TABLE_COLUMNS, strict=True)
        ).rstrip()
        for row in rows
    ]


def progress_line(job: dict[str, Any]) -> str:
    """One event of a job: a progress bar, the percentage, the status and the message."""
    percent = job.get("progress") or (100 if job["status"] == "SUCCESS" else 0)
    filled = round(BAR_WIDTH * percent / 100)
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:5.1f}%  {job['status']:<9}  {job['message']}"
    )


def fleet_lines(status: dict[str, Any]) -> list[str]:
    """``GET /worker/status`` for people: the fleet, each worker, and (the admin's) each queue."""
    workers = status["workers"]
    lines = [
        f"status {status['status']}, {len(workers)} worker {plural(len(workers), 'process', 'processes')}, "
        f"{status['jobs_in_queue']} {plural(status['jobs_in_queue'] or 0, 'job')} in queue"
    ]
    for worker in workers:
        where = f"{worker['id']}  host {worker['host']}  pid {worker['pid']}  " if "id" in worker else ""
        lines.append(
            f"  {where}{worker['threads']} threads  queues {','.join(worker['queues'])}  "
            f"last beat {worker['seconds_since_heartbeat']:.1f} s ago"
        )
    for queue, counts in status.get("queues", {}).items():  # the admin's view only
        lines.append(
            f"  queue {queue}: {counts['ready']} ready, {counts['delayed']} delayed, "
            f"{counts['dead_letters']} dead {plural(counts['dead_letters'], 'letter')}"
        )
    return lines
