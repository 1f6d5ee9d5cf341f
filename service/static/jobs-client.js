// jobs-client.js — the job service's browser client: a dependency-free ES module.
//
// The seed's API, same names and defaults, so existing code keeps working: scoreContracts,
// createJob, getJobStatus, getWorkerStatus and pollJobStatus resolve to axios-like responses
// ({data, status, headers}) and reject with an Error carrying `response` ({status, data}).
// watchJob() follows a job over Server-Sent Events, resumes after drops, and falls back to
// (long-)polling by itself when streams fail — a proxy that buffers them, a non-200 answer (a
// limit on open streams, say), no EventSource — so the caller never notices which transport ran.
//
// Identity: on the service's own origin the session cookie (login(key) sets it) is all it takes.
// A page on another origin passes its key to configure({apiKey}): calls then send
// `Authorization: Bearer <key>`, and streams (an EventSource cannot send a header) open with a
// short-lived stream token fetched with the key, a fresh one at every reconnect.

const settings = { baseUrl: "", credentials: "same-origin", apiKey: null };
const TERMINAL = new Set(["SUCCESS", "FAILURE", "CANCELLED"]);
// A stream that brings no event this long after opening is taken to be buffered by a proxy.
const FIRST_EVENT_TIMEOUT_MS = 10000;
// Errors in a row, without any event, after which the stream is given up for polling.
const MAX_STREAM_ERRORS = 2;
const LONG_POLL_WAIT_S = 25;

/** Where the service is (default: this page's origin), whether to send cookies, and the API key
 * to send (none: the session cookie of login() is used). */
export function configure({ baseUrl = "", credentials = "same-origin", apiKey = null } = {}) {
  settings.baseUrl = baseUrl.replace(/\/$/, "");
  settings.credentials = credentials;
  settings.apiKey = apiKey;
}

/** Any call to the service, as the functions below make it: resolves to {data, status, headers}
 * (axios-like), rejects with an Error whose message is the service's and whose `response` is
 * {status, data, headers}. `params` values may be arrays (repeated); `credentials` and `headers`
 * override the configured ones for this call (the console's admin panel sends its own token). */
export async function request(method, path, { body, params, headers = {}, credentials } = {}) {
  const url = new URL(settings.baseUrl + path, window.location.href);
  for (const [name, value] of Object.entries(params || {})) {
    for (const one of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(one));
  }
  const init = { method, credentials: credentials || settings.credentials, headers: {} };
  if (settings.apiKey) init.headers.Authorization = `Bearer ${settings.apiKey}`;
  Object.assign(init.headers, headers);
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text; // not JSON: a proxy's error page, say
  }
  // Headers as axios gives them: a plain object, names in lower case (headers["location"]).
  const result = { data, status: response.status, headers: Object.fromEntries(response.headers.entries()) };
  if (!response.ok) {
    const error = new Error(data && data.error ? data.error.message : `HTTP ${response.status}`);
    error.response = result;
    throw error;
  }
  return result;
}

// Async scoring with optional async mode (the seed's signature and default).
export const scoreContracts = (criterion, workspaceName, maxScore, compareChatgpt, shareDataWithChatgpt, asyncMode = false) =>
  request("POST", "/score", {
    body: {
      criterion,
      workspace_name: workspaceName,
      max_score: maxScore,
      compare_chatgpt: compareChatgpt,
      share_data_with_chatgpt: shareDataWithChatgpt,
    },
    params: { async_mode: asyncMode },
  });

export const auditContracts = (workspaceName, checklist = null, asyncMode = false) =>
  request("POST", "/audit", { body: { workspace_name: workspaceName, checklist }, params: { async_mode: asyncMode } });

export const createJob = (jobType, payload) => request("POST", `/jobs/${jobType}`, { body: payload });
export const getJobStatus = (jobId) => request("GET", `/jobs/${jobId}`);
export const getWorkerStatus = () => request("GET", "/worker/status");
export const cancelJob = (jobId) => request("POST", `/jobs/${jobId}/cancel`);
export const listJobs = (params = {}) => request("GET", "/jobs", { params });
export const retryJob = (jobId) => request("POST", `/jobs/${jobId}/retry`);

/** Trade an API key for a session cookie (the service's own pages), and back. A browser logged in
 * as another tenant is not switched: the answer is a 409 `session_conflict` (its error names
 * `tenant` and `current_tenant`) unless `{replace: true}` says to end that session first. */
export const login = (key, { replace = false } = {}) =>
  request("POST", "/session", { body: replace ? { key, replace: true } : { key } });
export const logout = () => request("DELETE", "/session");
export const whoAmI = () => request("GET", "/session");

export function uploadDocuments(workspaceName, files) {
  const form = new FormData();
  for (const file of files) form.append("file", file);
  return request("POST", `/workspaces/${encodeURIComponent(workspaceName)}/documents`, { body: form });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Polling utility (the seed's signature and defaults: every 2 s, 150 times = 5 minutes). A failed
// poll that may pass (the network, a 5xx such as the 503 of a Redis restart) is tried again at the
// same interval, within maxAttempts; a 4xx (a job that does not exist, a revoked key) ends it
// through onError at once. A CANCELLED job ends through onError with "Job cancelled".
export const pollJobStatus = async (jobId, onProgress, onComplete, onError, pollInterval = 2000, maxAttempts = 150) => {
  let lastError = null;
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    if (attempt > 0) await sleep(pollInterval);
    let job;
    try {
      ({ data: job } = await getJobStatus(jobId));
    } catch (error) {
      const status = error.response ? error.response.status : 0; // 0: no answer at all
      if (status >= 400 && status < 500) return onError && onError(error.message, null);
      lastError = error;
      continue;
    }
    onProgress && onProgress(job);
    if (job.status === "SUCCESS") return onComplete && onComplete(job.result, job);
    if (TERMINAL.has(job.status)) return onError && onError(errorText(job), job);
  }
  const why = lastError ? `: ${lastError.message}` : "";
  return onError && onError(`Timed out waiting for the job${why}`, null);
};

function errorText(job) {
  if (job.status === "CANCELLED") return "Job cancelled";
  return job.error ? `${job.error.type}: ${job.error.message}` : job.message || "Job failed";
}

/**
 * Follow a job until it ends. Callbacks: onProgress(job) for every change, then onComplete(result,
 * job) or onError(message, job). Returns a handle: stop() stops watching, cancel() cancels the job,
 * transport tells which transport is running ("sse" or "poll").
 */
export function watchJob(jobId, { onProgress, onComplete, onError, pollInterval = 2000, transport = "auto" } = {}) {
  const watcher = createJobsWatcher({ onProgress, onComplete, onError, pollInterval, poll: transport === "poll" });
  watcher.add(jobId);
  return {
    stop: () => watcher.close(),
    cancel: () => cancelJob(jobId),
    get transport() {
      return watcher.transport;
    },
  };
}

/**
 * Follow many jobs on one multiplexed stream (GET /events?job=…&job=…), so that a page with many
 * jobs stays within the browser's six connections per origin on HTTP/1.1. Add jobs as they come;
 * each ends by itself. Callbacks get the job: onProgress(job), onComplete(result, job),
 * onError(message, job). Every state is delivered once, in order, from the job's first event.
 * When streams do not get through — a non-200 answer, errors before any event, no event within
 * 10 s (a buffering proxy), no EventSource — each job is long-polled instead, from where it was.
 */
export function createJobsWatcher({ onProgress, onComplete, onError, pollInterval = 2000, poll = false } = {}) {
  const jobs = new Map(); // job id -> last seq delivered
  let polling = poll || typeof EventSource === "undefined";
  let failures = 0; // stream errors since the stream last connected
  let source = null;
  let closed = false;

  // Hands a job's state to the callbacks once; true when the job has ended.
  const deliver = (job) => {
    const last = jobs.get(job.job_id);
    if (closed || last === undefined || job.seq <= last) return false;
    jobs.set(job.job_id, job.seq);
    onProgress && onProgress(job);
    if (!TERMINAL.has(job.status)) return false;
    jobs.delete(job.job_id);
    if (job.status === "SUCCESS") onComplete && onComplete(job.result, job);
    else onError && onError(errorText(job), job);
    return true;
  };

  const pollOne = async (jobId) => {
    while (!closed && jobs.has(jobId)) {
      const started = Date.now();
      try {
        const params = { wait: LONG_POLL_WAIT_S, since: jobs.get(jobId) };
        const { data: job } = await request("GET", `/jobs/${jobId}`, { params });
        if (deliver(job)) return;
      } catch (error) {
        if (error.response && error.response.status === 404) {
          jobs.delete(jobId);
          onError && onError(error.message, null);
          return;
        }
      }
      // A server that answers at once (no long-poll support, or an error) is asked again later.
      if (Date.now() - started < 1000) await sleep(pollInterval);
    }
  };

  const fallBack = () => {
    polling = true;
    if (source) source.close();
    source = null;
    for (const jobId of jobs.keys()) pollOne(jobId);
  };

  // A stream token for the jobs, when a key (not a cookie) says who we are.
  const streamToken = async (ids) => {
    if (!settings.apiKey) return null;
    const { data } = await request("POST", "/stream-tokens", { body: { jobs: ids } });
    return data.token;
  };

  let opening = 0; // the latest open() call; an older one that finishes later gives way
  const open = async () => {
    const call = (opening += 1);
    if (source) source.close();
    source = null;
    if (closed || polling || jobs.size === 0) return;
    const ids = [...jobs.keys()];
    const url = new URL(`${settings.baseUrl}/events`, window.location.href);
    for (const id of ids) url.searchParams.append("job", id);
    url.searchParams.set("since", ids.map((id) => jobs.get(id)).join("."));
    try {
      const token = await streamToken(ids);
      if (token) url.searchParams.set("token", token);
    } catch {
      return fallBack(); // no token, no stream: poll with the key instead
    }
    if (call !== opening || closed || polling) return;
    const stream = new EventSource(url, { withCredentials: settings.credentials === "include" });
    source = stream;
    let heard = false;
    const timer = setTimeout(() => heard || fallBack(), FIRST_EVENT_TIMEOUT_MS);
    const onEvent = (event) => {
      heard = true;
      deliver(JSON.parse(event.data));
    };
    for (const name of ["status", "progress", "snapshot"]) stream.addEventListener(name, onEvent);
    stream.onopen = () => {
      failures = 0; // connected: a later drop (rotation, a redeploy) is not a failing transport
    };
    stream.onerror = () => {
      if (source !== stream) return;
      failures += 1;
      clearTimeout(timer);
      if (jobs.size === 0) {
        stream.close(); // every job ended: the server closed the stream
      } else if (failures >= MAX_STREAM_ERRORS || (stream.readyState === EventSource.CLOSED && !settings.apiKey)) {
        fallBack(); // refused (a limit, a proxy) or failing: polling gets through
      } else {
        // The browser would reconnect with the old URL (and an expired token); reopen with the
        // current positions, and a fresh token.
        open();
      }
    };
  };

  return {
    add(jobId) {
      if (closed || jobs.has(jobId)) return;
      jobs.set(jobId, 0);
      if (polling) pollOne(jobId);
      else open();
    },
    close() {
      closed = true;
      if (source) source.close();
    },
    get transport() {
      return polling ? "poll" : "sse";
    },
  };
}
