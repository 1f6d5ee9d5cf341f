"""Event streams sent outside Quart once their request is answered.

A stream lives for minutes or hours. Sent as the body of a Quart response, it would keep, for all
that time, Quart's request and app contexts, the request with its headers, the response, and the
two tasks Quart runs per request (the handler and the body's receiver) with their queues: about
10 of the 37 KiB an idle stream cost, and a few coroutine layers on every chunk sent
(docs/benchmarks.md, "Issue 26").

So a stream's route does all that a request does (authentication, the rate limit, validation, the
first read, the security and CORS headers) and answers with the stream's headers and no body,
leaving the stream in the ASGI scope (``hand_off``). ``StreamHandoff``, wrapped around the app,
holds that answer back from Hypercorn and, once Quart is done, sends it and lets the stream send
itself (``EventStream.send``) in the task Hypercorn runs the request in, with one small task
listening for the client's disconnect, as Quart's receiver did.

An answer that was not the stream's (an error made after the route, a HEAD request, a client gone
before the answer) releases the stream's place among the open streams without sending it.
"""

from __future__ import annotations

from hypercorn.typing import ASGIFramework, ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope
from quart import request

from .streams import EventStream

#: The ASGI scope's key of the list a route leaves its stream in. A list made before the app runs,
#: so that the wrappers which copy the scope (the trusted proxies') share it with the route.
STREAM_SCOPE_KEY = "jobs.event_stream"


def hand_off(stream: EventStream) -> None:
    """Send ``stream`` after the current request's answer (its headers), outside Quart."""
    request.scope[STREAM_SCOPE_KEY].append(stream)


class StreamHandoff:
    """ASGI middleware around the whole app: sends the streams routes hand off.

    It wraps the other wrappers too (the security headers', the trusted proxies'): they are done
    with a stream's request once its answer has started, and none of them is kept for its life.
    """

    def __init__(self, app: ASGIFramework) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        handed_off = await self._answer(scope, receive, send)
        if handed_off is not None:
            stream, start = handed_off
            await send(start)
            await stream.send(receive, send)

    async def _answer(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> tuple[EventStream, ASGISendEvent] | None:
        """Let the app answer; a stream it handed off, with its held answer, to send now. Its own
        frame, so that nothing of the request (this closure, these lists) outlives it."""
        sends_streams = scope["method"] == "GET"  # a HEAD request gets the stream's headers alone
        handed: list[EventStream] = []
        held: list[ASGISendEvent] = []  # the stream's answer (its headers), sent once the app is done

        async def send_unless_handed_off(message: ASGISendEvent) -> None:
            starts_a_stream = message["type"] == "http.response.start" and message["status"] == 200
            if starts_a_stream and handed and sends_streams:
                held.append(message)
            if not held:
                await send(message)  # any other answer, an error made after the route among them
            # else: the stream's empty body, which the stream's chunks replace

        await self.app({**scope, STREAM_SCOPE_KEY: handed}, receive, send_unless_handed_off)
        if not handed:
            return None
        stream = handed.pop()
        if not held:
            stream.release()  # another answer went out instead, or none (the client left first, or HEAD)
            return None
        return stream, held.pop()
