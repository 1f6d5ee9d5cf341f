"""Reading an upload as it arrives: a multipart body, decoded a slice at a time, each file part
checked the moment what it checks is known and refused then, before the rest is read.

The body is decoded by python-multipart's streaming parser (Starlette's), fed at most
``SLICE_BYTES`` at a time: the event loop runs other requests between slices, and a slice costs
it well under a millisecond, however much of the body arrived at once. (Werkzeug's decoder, which
Quart's ``request.files`` uses, adds a stray ``\\r`` to a file when a read ends between the CR and
LF before a boundary; this one decodes a body alike however it is cut.) Each file part goes to a
spooled temporary file, kept in memory up to ``SPOOL_BYTES`` and written to disk past that, in one
of the process's ``UPLOAD_WRITERS`` threads.

What the domain checks (``UploadLimits``, ``actors.contracts.quotas``): the number of files as each
part starts, each file's name and type once its headers are read, each file's size as its bytes
arrive. What this module checks: the body's total size (``max_bytes``, also for a body sent without
``Content-Length``), its parts' headers and number, and its form. A refused upload is answered at
once, after what is left of its body has been read, up to 1 MiB (``DRAIN_BYTES``): a small remainder
left unread would reset the connection before the client reads the answer. Past that, the
connection closes behind the answer with the rest unread.

    BadRequest (400, ``invalid_multipart``)     not multipart form data, or a malformed or broken one
    RequestEntityTooLarge (413)                 a body past ``max_bytes``; headers or parts past theirs
    the domain's DocumentError (413, 415)       a file past one of ``UploadLimits``
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Protocol

from python_multipart.multipart import MultipartParser, parse_options_header
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import DRAIN_BYTES, DRAIN_SECONDS, BadRequest

#: How much of the body is decoded before the event loop runs anything else.
SLICE_BYTES = 256 * 1024
#: How much of a file is kept in memory before it is written to disk.
SPOOL_BYTES = 1024 * 1024
#: How much of a file is gathered before it is written.
WRITE_BYTES = 1024 * 1024
#: The most header bytes one part may have.
MAX_HEADER_BYTES = 16 * 1024
#: Threads writing uploads to disk, per process.
UPLOAD_WRITERS = 2
#: The most parts that are not files of the upload's field (other fields are read and dropped).
MAX_OTHER_PARTS = 100

#: The threads that write uploads to disk: their own, so that a flood of uploads queues behind
#: itself and never before the requests' Redis calls (which run in the loop's default executor).
_WRITERS = ThreadPoolExecutor(max_workers=UPLOAD_WRITERS, thread_name_prefix="upload-writer")

#: An uploaded file as the staging area takes it: its name and a binary file at its start.
ReceivedFile = tuple[str, IO[bytes]]


class FileChecks(Protocol):
    """What each file part passes (``actors.contracts.quotas.UploadLimits``)."""

    def check_file(self, filename: str, *, number: int) -> None: ...

    def check_size(self, filename: str, size: int) -> None: ...


@dataclass(slots=True)
class _File:
    name: str
    file: IO[bytes]
    size: int = 0
    pending: bytearray = field(default_factory=bytearray)  # received, not yet written
    ended: bool = False


class _Receiver:
    """One upload's decoding: the parser's callbacks check each part and gather its data; ``feed``
    writes what they gathered."""

    def __init__(self, boundary: bytes, *, field_name: str, checks: FileChecks) -> None:
        callbacks = {
            "on_part_begin": self._part_begins,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_ends,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_ends,
            "on_end": self._ends,
        }
        self.parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        self.field_name = field_name
        self.checks = checks
        self.files: list[_File] = []
        self.ended = False
        self._current: _File | None = None  # the file part being received, if any
        self._headers: dict[bytes, bytes] = {}
        self._header: list[bytes] = [b"", b""]
        self._header_bytes = 0
        self._other_parts = 0

    async def feed(self, data: bytes) -> None:
        try:
            self.parser.write(data)
        except ValueError as exc:  # python-multipart's parse errors
            raise BadRequest(
                f"The upload is not valid multipart form data: {exc}", code="invalid_multipart"
            ) from None
        for received in self.files:
            if received.pending and (received.ended or len(received.pending) >= WRITE_BYTES):
                chunk, received.pending = bytes(received.pending), bytearray()
                if received.file.tell() + len(chunk) > SPOOL_BYTES:  # on disk, or about to be
                    await asyncio.get_running_loop().run_in_executor(_WRITERS, received.file.write, chunk)
                else:
                    received.file.write(chunk)

    def finish(self) -> list[ReceivedFile]:
        self.parser.finalize()
        if not self.ended:
            raise BadRequest("The upload ended before its closing boundary", code="invalid_multipart")
        for received in self.files:
            received.file.seek(0)
        return [(received.name, received.file) for received in self.files]

    def _part_begins(self) -> None:
        self._current, self._headers, self._header_bytes = None, {}, 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += self._counted(data[start:end])

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += self._counted(data[start:end])

    def _counted(self, data: bytes) -> bytes:
        self._header_bytes += len(data)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise RequestEntityTooLarge(f"A part's headers may have at most {MAX_HEADER_BYTES} bytes")
        return data

    def _header_ends(self) -> None:
        self._headers[self._header[0].lower()] = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition")
        if disposition is None:
            raise BadRequest("A part of the upload has no Content-Disposition", code="invalid_multipart")
        _, options = parse_options_header(disposition)
        filename = options.get(b"filename")
        if filename is None or options.get(b"name") != self.field_name.encode():
            self._other_parts += 1
            if self._other_parts > MAX_OTHER_PARTS:
                raise RequestEntityTooLarge(f"An upload may have at most {MAX_OTHER_PARTS} other fields")
            return  # another field: its data is dropped as it arrives
        name = filename.decode("utf-8", "replace") or "unnamed"
        self.checks.check_file(name, number=len(self.files) + 1)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed by received_files)
        self._current = _File(name, spool)
        self.files.append(self._current)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._current is not None:
            self._current.size += end - start
            self.checks.check_size(self._current.name, self._current.size)
            self._current.pending += data[start:end]

    def _part_ends(self) -> None:
        if self._current is not None:
            self._current.ended = True

    def _ends(self) -> None:
        self.ended = True


def _boundary(content_type: str, params: dict[str, str]) -> bytes:
    boundary = params.get("boundary", "")
    if content_type != "multipart/form-data" or not boundary:
        raise BadRequest(
            "Send the files as multipart/form-data, one 'file' part each", code="invalid_multipart"
        )
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise BadRequest("The multipart boundary must be ASCII", code="invalid_multipart") from None


@contextlib.asynccontextmanager
async def received_files(
    body: AsyncIterable[bytes],
    content_type: str,
    params: dict[str, str],
    *,
    field: str,
    checks: FileChecks,
    max_bytes: int,
) -> AsyncIterator[list[ReceivedFile]]:
    """The ``field`` files of a multipart ``body``, each a binary file at its start, closed (and
    its disk space freed) when the block ends; raises as soon as the body breaks a limit."""
    receiver = _Receiver(_boundary(content_type, params), field_name=field, checks=checks)
    received = 0
    chunks = aiter(body)
    try:
        try:
            async for chunk in chunks:
                received += len(chunk)
                if received > max_bytes:
                    raise RequestEntityTooLarge(f"An upload may have at most {max_bytes} bytes")
                for at in range(0, len(chunk), SLICE_BYTES):
                    await receiver.feed(chunk[at : at + SLICE_BYTES])
                    await asyncio.sleep(0)  # let other requests run between slices
        except Exception:
            await _drain(chunks)
            raise
        yield receiver.finish()
    finally:
        for received_file in receiver.files:
            received_file.file.close()


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what is left of a refused body, up to ``DRAIN_BYTES`` within ``DRAIN_SECONDS``: a
    connection closed with a small remainder unread is reset, and its client would see a network
    error instead of the refusal. A larger remainder is left unread, and its connection closed."""
    read = 0
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in chunks:
                read += len(chunk)
                if read > DRAIN_BYTES:
                    return
