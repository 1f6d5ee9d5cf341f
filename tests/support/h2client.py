"""A small HTTP/2 client over one connection, for the tests and the SSE benchmark.

It speaks HTTP/2 in clear text from the first byte (prior knowledge), as a proxy speaking HTTP/2
to its upstream does, and does what browsers do and httpx does not: a stream the client leaves
is reset (``RST_STREAM``), so the server learns of it while the connection stays open. Built on
the ``h2`` state machine (Hypercorn's own); received data is acknowledged as it arrives, so the
client never holds a window shut.

Each stream records its chunks with their arrival time, so a benchmark can read latencies off
them afterwards; ``H2Stream.lines`` reads them as text, for an SSE parser.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

#: What the client offers the server: a stream window large enough that flow control never
#: paces an event stream in a test.
INITIAL_WINDOW = 1 << 20


class H2Stream:
    """One request's answer: its status, then its body as chunks stamped with ``time.time()``."""

    def __init__(self, stream_id: int) -> None:
        self.stream_id = stream_id
        self.status: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.chunks: list[tuple[float, bytes]] = []
        self.ended = False
        self._changed = asyncio.Event()

    def _received(self, data: bytes) -> None:
        self.chunks.append((time.time(), data))
        self._changed.set()

    def _end(self) -> None:
        self.ended = True
        self._changed.set()

    async def body(self) -> AsyncIterator[bytes]:
        """The body's chunks as they come, until the server ends the stream."""
        read = 0
        while True:
            while read < len(self.chunks):
                read += 1
                yield self.chunks[read - 1][1]
            if self.ended:
                return
            self._changed.clear()
            await self._changed.wait()

    async def lines(self) -> AsyncIterator[str]:
        pending = b""
        async for chunk in self.body():
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                yield line.decode()


class H2Client:
    """One HTTP/2 connection to ``host:port``; ``request`` opens a stream on it."""

    def __init__(self, host: str, port: int) -> None:
        self.authority = f"{host}:{port}".encode()
        self.host, self.port = host, port
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.connection = h2.connection.H2Connection(config)
        self.streams: dict[int, H2Stream] = {}
        self._settings_known = asyncio.Event()
        self._reading: asyncio.Task[None] | None = None

    async def __aenter__(self) -> H2Client:
        return await self.connect()

    async def connect(self) -> H2Client:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.connection.initiate_connection()
        self.connection.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: INITIAL_WINDOW})
        self.connection.increment_flow_control_window(INITIAL_WINDOW)
        self._flush()
        self._reading = asyncio.create_task(self._read())
        await asyncio.wait_for(self._settings_known.wait(), 30)  # how many streams we may open
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    @property
    def max_streams(self) -> int:
        return self.connection.remote_settings.max_concurrent_streams

    def request(self, path: str, headers: dict[str, str] | None = None, *, method: str = "GET") -> H2Stream:
        stream = H2Stream(self.connection.get_next_available_stream_id())
        self.streams[stream.stream_id] = stream
        pseudo = [(b":method", method.encode()), (b":path", path.encode()), (b":scheme", b"http")]
        extra = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
        self.connection.send_headers(
            stream.stream_id, [*pseudo, (b":authority", self.authority), *extra], end_stream=True
        )
        self._flush()
        return stream

    def reset(self, stream: H2Stream) -> None:
        """Leave ``stream`` as a browser closing an ``EventSource`` does: ``RST_STREAM`` (CANCEL)."""
        self.connection.reset_stream(stream.stream_id, h2.errors.ErrorCodes.CANCEL)
        self._flush()
        stream._end()

    async def aclose(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
        self.writer.close()
        for stream in self.streams.values():
            stream._end()

    def _flush(self) -> None:
        self.writer.write(self.connection.data_to_send())

    async def _read(self) -> None:
        while data := await self.reader.read(1 << 16):
            for event in self.connection.receive_data(data):
                self._handle(event)
            self._flush()
        for stream in self.streams.values():
            stream._end()

    def _handle(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RemoteSettingsChanged):
            self._settings_known.set()
            return
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if stream is None:
            return
        if isinstance(event, h2.events.ResponseReceived):
            stream.status.set_result(int(dict(event.headers)[b":status"]))
        elif isinstance(event, h2.events.DataReceived):
            self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            stream._received(event.data)
        elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
            stream._end()
