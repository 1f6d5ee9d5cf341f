"""A small Server-Sent Events reader over httpx, parsing the wire format as a browser would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SSEMessage:
    event: str = "message"
    id: str | None = None
    data_lines: list[str] = field(default_factory=list)
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads("\n".join(self.data_lines))

    @property
    def seq(self) -> int:
        assert self.id is not None
        return int(self.id)


async def messages(response: httpx.Response) -> AsyncIterator[SSEMessage]:
    """Yield each dispatched block: an event, a ``retry:`` line or a ``:`` comment."""
    async for message in parse(response.aiter_lines()):
        yield message


async def parse(lines: AsyncIterator[str]) -> AsyncIterator[SSEMessage]:
    """``messages`` of a body read as lines by another client (``h2client.H2Stream.lines``)."""
    current = SSEMessage()
    async for line in lines:
        if line == "":
            if current.data_lines or current.retry is not None or current.comments:
                yield current
            current = SSEMessage()
            continue
        if line.startswith(":"):
            current.comments.append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            current.event = value
        elif name == "id":
            current.id = value
        elif name == "data":
            current.data_lines.append(value)
        elif name == "retry":
            current.retry = int(value)


async def collect_events(
    source: httpx.Response | AsyncIterator[SSEMessage], *, until_seq: int | None = None
) -> list[SSEMessage]:
    """Read events (not comments or retry lines) until the server closes or ``until_seq`` arrives.

    Pass the iterator from ``messages()`` instead of the response to read the same stream again.
    """
    events = []
    async for message in messages(source) if isinstance(source, httpx.Response) else source:
        if message.data_lines:
            events.append(message)
            if until_seq is not None and message.seq >= until_seq:
                break
    return events


async def take_events(stream: AsyncIterator[SSEMessage], count: int) -> list[SSEMessage]:
    """The next ``count`` events of ``stream`` (skipping comments and ``retry:`` lines)."""
    events: list[SSEMessage] = []
    async for message in stream:
        if message.data_lines:
            events.append(message)
            if len(events) == count:
                break
    return events
