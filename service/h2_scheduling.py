"""The order in which Hypercorn sends the HTTP/2 streams of a connection: each with data in turn.

Hypercorn's HTTP/2 connection keeps its streams in a ``priority.PriorityTree`` and asks it, before
every frame it sends, which stream goes next. The tree answers by walking the streams until it
finds one with data, skipping each blocked one: with a hundred idle event streams on a
connection, one event costs a walk of all hundred, twice (once to send, once to learn that the
stream has nothing more), and one change fanned out to all of them ten thousand steps. With
3,000 streams on 30 connections, a change every 5 ms to one job's 30 streams took the web
process's whole core and the push p50 from 2 ms (100 streams) to 35 ms; profiled, the tree's
``__next__`` and ``Stream.schedule`` were 85 % of the event loop's busy time (docs/benchmarks.md,
"Issue 26"). ``RoundRobin`` answers in constant time: the streams with data, in turn.

It ignores the weights and dependencies a client signals. RFC 9113 deprecates that scheme, and
browsers no longer rely on it; an event stream's frames are small, so none holds the others up.

This module is the one place that reaches into Hypercorn's HTTP/2 protocol (an instance
attribute, ``H2Protocol.priority``, and the name ``hypercorn.protocol.H2Protocol`` its connections
are made from). ``tests/test_h2_scheduling.py`` pins both, and ``pyproject.toml`` bounds
Hypercorn to the releases tested. ``service.serve`` installs it; a plain ``hypercorn`` command
line serves the same app with Hypercorn's own tree.
"""

from __future__ import annotations

from collections import OrderedDict

import hypercorn.protocol
import priority
from hypercorn.protocol.h2 import H2Protocol


class RoundRobin:
    """The part of ``priority.PriorityTree``'s interface Hypercorn uses, raising the same errors:
    each stream that has data (is unblocked) in turn, in constant time per call."""

    def __init__(self) -> None:
        self._streams: set[int] = set()
        self._with_data: OrderedDict[int, None] = OrderedDict()  # the next to send first

    def insert_stream(
        self, stream_id: int, depends_on: int | None = None, weight: int = 16, exclusive: bool = False
    ) -> None:
        if stream_id in self._streams:
            raise priority.DuplicateStreamError(f"Stream {stream_id} already in tree")
        self._streams.add(stream_id)
        self._with_data[stream_id] = None

    def reprioritize(
        self, stream_id: int, depends_on: int | None = None, weight: int = 16, exclusive: bool = False
    ) -> None:
        self._known(stream_id)  # a client's priorities are advice (RFC 9113), not taken

    def remove_stream(self, stream_id: int) -> None:
        self._known(stream_id)
        self._streams.remove(stream_id)
        self._with_data.pop(stream_id, None)

    def block(self, stream_id: int) -> None:
        self._known(stream_id)
        self._with_data.pop(stream_id, None)

    def unblock(self, stream_id: int) -> None:
        self._known(stream_id)
        self._with_data.setdefault(stream_id, None)  # one already waiting keeps its turn

    def __iter__(self) -> RoundRobin:
        return self

    def __next__(self) -> int:
        if not self._with_data:
            raise priority.DeadlockError("No unblocked streams to schedule.")
        stream_id = next(iter(self._with_data))
        self._with_data.move_to_end(stream_id)
        return stream_id

    def _known(self, stream_id: int) -> None:
        if stream_id not in self._streams:
            raise priority.MissingStreamError(f"Stream {stream_id} not in tree")


class RoundRobinH2Protocol(H2Protocol):
    """Hypercorn's HTTP/2 connection, sending its streams in turn (``RoundRobin``)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.priority = RoundRobin()


def send_streams_in_turn() -> None:
    """Make every HTTP/2 connection Hypercorn accepts from now on in this process a
    ``RoundRobinH2Protocol`` (again is harmless)."""
    hypercorn.protocol.H2Protocol = RoundRobinH2Protocol  # type: ignore[misc]
