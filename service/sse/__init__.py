"""Server-Sent Events: one pub/sub connection per process, fanned out to every open stream.

    hub.py           EventHub: the pub/sub connection, subscribed to the watched jobs' and groups'
                     channels, fanning each wake-up out; the watchdog of stalled clients
    subscription.py  Subscription (a stream's topics, channels and bounded queue), the signals
    streams.py       EventStream (retry, heartbeats, rotation, shutdown), the SSE frame, JobStream
                     (one job or many), and wait_for (long-polling and the sync path)
    group_stream.py  GroupStream: every job of a group, new ones included
    handoff.py       StreamHandoff: a stream's request answered by Quart, the stream then sent
                     outside it (nothing of the request kept for the stream's life)

A new kind of stream is a subclass of ``EventStream`` that says what it subscribes to (jobs, a
group) and what it sends at the start, on an event and on a resync; a route serves it with
``routes.events.event_stream_response``.
"""
