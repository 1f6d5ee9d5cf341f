// live.js — the tenant's one event stream (GET /tenant/events): every job of the tenant as it
// changes, new ones included, wherever they were started, and the fleet's counts (`fleet`). While
// it is open nothing is polled; while it is down (refused, a proxy that buffers it, no
// EventSource) the console polls instead, and opens it again later.
//
// The browser resumes a dropped stream by itself: it reconnects with the last `id` it was sent
// (Last-Event-ID), and the server sends what was missed, nothing twice.

const JOB_EVENTS = ["snapshot", "status", "progress"];
/** A stream refused or failing is tried again after this long (the console polls meanwhile). */
const REOPEN_AFTER_MS = 30000;
/** A stream that sends nothing this long after opening is taken to be buffered by a proxy. */
const FIRST_EVENT_TIMEOUT_MS = 10000;

/**
 * Follow the tenant: `onJob(job)` for every job event (the job's snapshot after the change),
 * `onFleet(data)` for the counts, `onLive(live)` when the stream comes up (true) or goes down
 * (false: poll until it is up again); the first of either is always told. Returns {close()}.
 */
export function followTenant({ onJob, onFleet, onLive }) {
  let source = null;
  let timer = null;
  let live = null; // not known yet: the first word either way is passed on
  let closed = false;
  const setLive = (value) => {
    if (value !== live) {
      live = value;
      onLive(value);
    }
  };
  const down = () => {
    if (source) source.close();
    source = null;
    setLive(false);
    if (!closed) timer = setTimeout(open, REOPEN_AFTER_MS);
  };
  const open = () => {
    clearTimeout(timer);
    if (closed || typeof EventSource === "undefined") return setLive(false);
    const stream = new EventSource("/tenant/events");
    source = stream;
    let heard = false;
    const firstEvent = setTimeout(() => heard || down(), FIRST_EVENT_TIMEOUT_MS);
    const hear = () => {
      heard = true;
      clearTimeout(firstEvent);
      setLive(true);
    };
    for (const name of JOB_EVENTS) {
      stream.addEventListener(name, (event) => { hear(); onJob(JSON.parse(event.data)); });
    }
    stream.addEventListener("fleet", (event) => { hear(); onFleet(JSON.parse(event.data)); });
    stream.onerror = () => {
      if (source !== stream) return;
      // CONNECTING: the browser is resuming from the last id by itself; CLOSED: refused.
      if (stream.readyState === EventSource.CLOSED || !heard) {
        clearTimeout(firstEvent);
        down();
      } else {
        setLive(false);
      }
    };
  };
  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (source) source.close();
    },
  };
}
