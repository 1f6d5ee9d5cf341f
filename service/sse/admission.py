"""What a web process lets callers hold open: event streams, long-polls and synchronous waits.

Each of them takes a ``Slot`` before it starts, and gives it back when it ends. Counting and
refusing happen in one step with no ``await`` between them (``Admission.admit``), so concurrent
requests can never be admitted past a limit: the 221st of 220 simultaneous streams is refused
however they interleave. Limits are per process (``MAX_STREAMS``) and per key in each process
(``MAX_STREAMS_PER_KEY``); a caller without a key (AUTH=false, the admin) counts against the
process's limit only.

A slot is released by whoever holds it, in a ``finally``; a stream whose answer was never sent
(its client left first) is released by ``sse.handoff``, which sends streams.
"""

from __future__ import annotations

from collections import Counter


class LimitReached(Exception):
    """No slot: ``held`` of ``limit`` are taken, by ``whose`` ("this server" or "this key")."""

    def __init__(self, whose: str, held: int, limit: int) -> None:
        super().__init__(f"{whose} holds {held} of {limit} open streams and waits")
        self.whose = whose
        self.held = held
        self.limit = limit


class Slot:
    """One stream's or wait's place; ``release`` gives it back (more than once is harmless)."""

    __slots__ = ("_admission", "key_id")

    def __init__(self, admission: Admission, key_id: str | None) -> None:
        self._admission: Admission | None = admission
        self.key_id = key_id

    def release(self) -> None:
        if self._admission is not None:
            self._admission._give_back(self.key_id)
            self._admission = None


class Admission:
    def __init__(self, *, max_total: int, max_per_key: int) -> None:
        """Limits of 0 mean none."""
        self.max_total = max_total
        self.max_per_key = max_per_key
        self.held = 0
        self._by_key: Counter[str] = Counter()

    def admit(self, key_id: str | None) -> Slot:
        """A slot for a caller of ``key_id``, or ``LimitReached``."""
        if self.max_total and self.held >= self.max_total:
            raise LimitReached("this server", self.held, self.max_total)
        held_by_key = self._by_key[key_id] if key_id is not None else 0
        if key_id is not None and self.max_per_key and held_by_key >= self.max_per_key:
            raise LimitReached("this key", held_by_key, self.max_per_key)
        self.held += 1
        if key_id is not None:
            self._by_key[key_id] += 1
        return Slot(self, key_id)

    def held_by(self, key_id: str) -> int:
        return self._by_key.get(key_id, 0)

    def _give_back(self, key_id: str | None) -> None:
        self.held -= 1
        if key_id is not None:
            self._by_key[key_id] -= 1
            if self._by_key[key_id] <= 0:
                del self._by_key[key_id]
