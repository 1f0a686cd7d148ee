// A client of the interview-integrity gateway (`integrity gateway`) for browsers and Node 20+: an ES module
// with no dependencies and no build step.
//
//   GatewayClient  the HTTP API with fetch: start a session, send frames (each answered with its Result),
//                  end it (its final report), read the latest Result, the report, the gateway's health.
//   openStream     one session over WS /ws/stream: frames out as binary messages, Results pushed back as
//                  they are made, then the final report.
//
// Every refusal is a GatewayError: `status` (the HTTP status, or the WebSocket close code), `error` (the
// gateway's reason, in words), `requestId` (find it in the gateway's log), `retryAfterS` (on a 429).
// Browsers and Node 22 have a global WebSocket; on Node 20 pass the `ws` package's: openStream({WebSocket}).

export const VERSION = "0.1.0";

// The gateway's close codes (streams/gateway/websocket.py), RFC 6455 section 7.4.1.
export const CLOSE_CODES = Object.freeze({
  normal: 1000, // the session ended and its report was sent
  garbage: 1003, // a message that is not a JSON hello/command or an image
  refused: 1008, // no or wrong API key, above the session's frame rate, a session not this key's
  too_big: 1009, // a frame above INTEGRITY_MAX_FRAME_BYTES
  error: 1011, // the gateway failed (the broker unreachable, say)
  slow: 1013, // Results left unread: read them as they come
});

// What a close code means when the gateway (or the network) gave no reason.
const CLOSE_WORDS = {
  1000: "the session ended",
  1001: "the gateway is going away (restarting?)",
  1003: "the gateway could not read a message",
  1005: "closed without a code",
  1006: "the connection was lost or could not be made (is the gateway running at that address?)",
  1008: "refused (API key, frame rate, or a session not this key's)",
  1009: "a frame was too big",
  1011: "the gateway failed; see its log",
  1013: "Results were left unread",
};

const DEFAULT_TIMEOUT_MS = 60000; // above the gateway's own waits (5 s for a Result, 30 s for a report)

/** A refusal by the gateway (HTTP status or WebSocket close code), with its reason in words. */
export class GatewayError extends Error {
  constructor(status, error, { requestId = null, retryAfterS = null, closeCode = null } = {}) {
    super(`${status}: ${error}${requestId ? ` (request ${requestId})` : ""}`);
    this.name = "GatewayError";
    this.status = status;
    this.error = error;
    this.requestId = requestId;
    this.retryAfterS = retryAfterS;
    this.closeCode = closeCode;
  }
}

/** The image's media type from its first bytes ("application/octet-stream" when it is none of the three). */
export function contentType(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b[0] === 0xff && b[1] === 0xd8) return "image/jpeg";
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  const riff = String.fromCharCode(...b.subarray(0, 4));
  const webp = String.fromCharCode(...b.subarray(8, 12));
  if (riff === "RIFF" && webp === "WEBP") return "image/webp";
  return "application/octet-stream";
}

function isBlob(value) {
  return typeof Blob !== "undefined" && value instanceof Blob;
}

function checkImage(image) {
  if (isBlob(image) || image instanceof ArrayBuffer || ArrayBuffer.isView(image)) return;
  throw new TypeError("a frame is a Blob, an ArrayBuffer or a Uint8Array (JPEG, PNG or WebP bytes)");
}

async function imageType(image) {
  if (isBlob(image) && /^image\/(jpeg|png|webp)$/.test(image.type)) return image.type;
  if (isBlob(image)) return contentType(new Uint8Array(await image.slice(0, 12).arrayBuffer()));
  if (ArrayBuffer.isView(image)) return contentType(new Uint8Array(image.buffer, image.byteOffset, image.byteLength));
  return contentType(image);
}

/** The page's own origin in a browser; "" elsewhere (then a baseUrl is required). */
function defaultBase() {
  return typeof globalThis.location !== "undefined" && globalThis.location.origin ? globalThis.location.origin : "";
}

function trimBase(baseUrl) {
  return String(baseUrl ?? defaultBase()).replace(/\/+$/, "");
}

/** http(s)://host/... -> ws(s)://host/.../ws/stream */
export function streamUrl(baseUrl) {
  const base = trimBase(baseUrl);
  if (!/^(https?|wss?):\/\//.test(base)) {
    throw new TypeError(`baseUrl must be an absolute http(s) URL, not ${JSON.stringify(base)}`);
  }
  return base.replace(/^http/, "ws") + "/ws/stream";
}

function sessionPath(sessionId, tail) {
  return `/sessions/${encodeURIComponent(sessionId)}/${tail}`;
}

function retryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds : null; // an HTTP date: no gateway of ours sends one
}

/** The gateway's JSON refusal; a proxy's page in front of it becomes its text, shortened. */
async function refusal(response) {
  const requestId = response.headers.get("x-request-id");
  const retryAfterS = retryAfter(response.headers.get("retry-after"));
  const text = await response.text().catch(() => "");
  let parsed = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: a proxy's page
  }
  if (parsed && typeof parsed.error === "string") {
    return new GatewayError(response.status, parsed.error, { requestId: parsed.request_id || requestId, retryAfterS });
  }
  const words = text.trim().slice(0, 200) || `HTTP ${response.status} ${response.statusText || ""}`.trim();
  return new GatewayError(response.status, words, { requestId, retryAfterS });
}

function startBody({ candidateId = "", sessionId, policy, metadata } = {}) {
  const body = { candidate_id: candidateId, metadata: { ...(metadata || {}) } };
  if (sessionId != null) body.session_id = sessionId;
  if (policy != null) body.policy = policy;
  return body;
}

/** The gateway over HTTP. `fetch` defaults to the global one; `timeoutMs` bounds each request. */
export class GatewayClient {
  constructor({ baseUrl, apiKey = null, fetch: fetchImpl, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    this.baseUrl = trimBase(baseUrl);
    if (!this.baseUrl && !defaultBase()) throw new TypeError("baseUrl is required outside a browser page");
    this.apiKey = apiKey || null;
    this.timeoutMs = timeoutMs;
    this._fetch = fetchImpl || globalThis.fetch?.bind(globalThis);
    if (!this._fetch) throw new TypeError("no fetch: pass one as new GatewayClient({fetch})");
  }

  async _request(method, path, { query, body, headers = {}, ok = [] } = {}) {
    const url = new URL(this.baseUrl + path, defaultBase() || undefined);
    for (const [name, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const sent = { ...headers };
    if (this.apiKey) sent.Authorization = `Bearer ${this.apiKey}`;
    const init = { method, headers: sent, body };
    if (this.timeoutMs && typeof AbortSignal !== "undefined" && AbortSignal.timeout) {
      init.signal = AbortSignal.timeout(this.timeoutMs);
    }
    const response = await this._fetch(url.toString(), init);
    if (!response.ok && !ok.includes(response.status)) throw await refusal(response);
    return response;
  }

  async _json(method, path, options = {}) {
    if (options.json !== undefined) {
      options.body = JSON.stringify(options.json);
      options.headers = { ...(options.headers || {}), "Content-Type": "application/json" };
    }
    const response = await this._request(method, path, options);
    return { status: response.status, body: await response.json() };
  }

  /** `{ready, not_ready_because, api_keys}`; a gateway not ready answers 503 with that body too. */
  async health() {
    return (await this._json("GET", "/health", { ok: [503] })).body;
  }

  /** Start a session: `{session_id, candidate_id, policy, frames}` (the id is made when not given). */
  async startSession({ candidateId = "", sessionId, policy, metadata } = {}) {
    return (await this._json("POST", "/sessions", { json: startBody({ candidateId, sessionId, policy, metadata }) }))
      .body;
  }

  /**
   * Send a JPEG, PNG or WebP frame (a Blob, ArrayBuffer or Uint8Array). Resolves to `{result, sequence,
   * pending}`: the frame's Result, or (`pending` true) only its sequence when the gateway answered 202
   * (`wait: false`, or the Result took longer than the gateway's wait; see `latestResult`).
   */
  async sendFrame(sessionId, image, { sequence, capturedAtMs, wait = true } = {}) {
    checkImage(image);
    const query = { wait: wait ? "true" : "false", sequence, captured_at_ms: capturedAtMs };
    const headers = { "Content-Type": await imageType(image) };
    const { status, body } = await this._json("POST", sessionPath(sessionId, "frames"), { query, headers, body: image });
    if (status === 202) return { result: null, sequence: Number(body.sequence), pending: true };
    return { result: body, sequence: Number(body.frame_sequence), pending: false };
  }

  /** End the session: its final report, or null when it is not in yet (see `report`). */
  async endSession(sessionId, { lastSequence, wait = true } = {}) {
    const json = lastSequence == null ? {} : { last_sequence: lastSequence };
    const query = { wait: wait ? "true" : "false" };
    const { status, body } = await this._json("POST", sessionPath(sessionId, "end"), { json, query });
    return status === 202 ? null : body;
  }

  /** The session's latest Result (GatewayError 404 before its first). */
  async latestResult(sessionId) {
    return (await this._json("GET", sessionPath(sessionId, "result"))).body;
  }

  /** The final report of an ended session (GatewayError 404 until it is in). */
  async report(sessionId) {
    return (await this._json("GET", sessionPath(sessionId, "report"))).body;
  }

  /** A session over the WebSocket with this client's address and key: see `openStream`. */
  openStream(options = {}) {
    return openStream({ baseUrl: this.baseUrl || undefined, apiKey: this.apiKey, ...options });
  }
}

function textOf(data) {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return String(data);
}

/**
 * One session over WS /ws/stream. Made by `openStream`; frames may be sent at once (they wait for the
 * gateway's "started"). Listeners: `onResult(result)`, `onReport(report)`, `onError(gatewayError)`,
 * `onClose(code, reason)`; each returns a function that removes it.
 *
 * `ready` resolves to `{sessionId, policy}` once the gateway started the session (rejects with a
 * GatewayError if it closed first: a refused key is 1008). `end()` ends the session and resolves to
 * its final report (null when the gateway's wait for it ran out: `late` says where to read it).
 */
export class GatewayStream {
  constructor({
    baseUrl,
    apiKey = null,
    candidateId = "",
    sessionId,
    policy,
    metadata,
    endOnDisconnect = true,
    WebSocket: Socket,
  } = {}) {
    const Impl = Socket || globalThis.WebSocket;
    if (!Impl) {
      throw new TypeError("no WebSocket here (Node 20): pass one, openStream({WebSocket}) with the ws package's");
    }
    this.url = streamUrl(baseUrl);
    this.sessionId = null;
    this.policy = null;
    this.state = "connecting"; // connecting -> open -> ending -> closed
    this.framesSent = 0;
    this.resultsReceived = 0; // Results of frames (the final Result, frame_sequence -1, not counted)
    this.lastResult = null;
    this.finalReport = null;
    this.late = null; // {report, error} when the report did not come within the gateway's wait
    this.errors = []; // every GatewayError met: refused frames, an error close
    this.closeCode = null;
    this.closeReason = null;
    this._listeners = { result: new Set(), report: new Set(), error: new Set(), close: new Set() };
    this._sending = Promise.resolve(); // frames and the end, in order
    this._ending = null;
    this.ready = new Promise((resolve, reject) => {
      this._started = resolve;
      this._notStarted = reject;
    });
    this.ready.catch(() => {}); // a refusal also reaches onError and onClose: never an unhandled rejection
    const hello = { ...startBody({ candidateId, sessionId, policy, metadata }), end_on_disconnect: endOnDisconnect };
    if (apiKey) hello.api_key = apiKey; // a browser cannot set headers on a WebSocket
    const socket = new Impl(this.url);
    this._socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => socket.send(JSON.stringify(hello));
    socket.onmessage = (event) => this._message(event.data);
    socket.onerror = () => {}; // the close that follows says what happened
    socket.onclose = (event) => this._closed(event.code, event.reason || "");
  }

  onResult(listener) {
    return this._on("result", listener);
  }

  onReport(listener) {
    return this._on("report", listener);
  }

  onError(listener) {
    return this._on("error", listener);
  }

  onClose(listener) {
    return this._on("close", listener);
  }

  _on(kind, listener) {
    this._listeners[kind].add(listener);
    return () => this._listeners[kind].delete(listener);
  }

  _emit(kind, ...args) {
    for (const listener of [...this._listeners[kind]]) {
      try {
        listener(...args);
      } catch (error) {
        console.error(`integrity-gateway: an ${kind} listener threw`, error);
      }
    }
  }

  /** Bytes handed to the socket and not yet sent: a sender may skip a frame while this is high. */
  get bufferedAmount() {
    return this._socket.bufferedAmount || 0;
  }

  _message(data) {
    let message;
    try {
      message = JSON.parse(textOf(data));
    } catch {
      return; // nothing the gateway sends; not worth failing the session over
    }
    const { type, ...record } = message || {};
    if (type === "started") {
      this.sessionId = record.session_id;
      this.policy = record.policy;
      if (this.state === "connecting") this.state = "open";
      this._started({ sessionId: this.sessionId, policy: this.policy });
    } else if (type === "result") {
      this.lastResult = record;
      if (!record.final) this.resultsReceived += 1;
      this._emit("result", record);
    } else if (type === "error") {
      const error = new GatewayError(Number(record.status) || 0, String(record.error || "refused"));
      this.errors.push(error);
      this._emit("error", error);
    } else if (type === "report") {
      this.finalReport = record;
      this._emit("report", record);
      this._ending?.resolve(record);
    } else if (type === "pending") {
      this.late = record;
      this._ending?.resolve(null);
    }
  }

  _closed(code, reason) {
    const wasStarted = this.sessionId !== null;
    this.state = "closed";
    this.closeCode = code;
    this.closeReason = reason;
    const clean = code === CLOSE_CODES.normal;
    if (!clean) {
      const error = new GatewayError(code, reason || CLOSE_WORDS[code] || "closed", { closeCode: code });
      this.errors.push(error);
      this._emit("error", error);
      if (!wasStarted) this._notStarted(error);
      this._ending?.reject(error);
    } else {
      if (!wasStarted) this._notStarted(new GatewayError(code, reason || "closed before the session started"));
      this._ending?.resolve(this.finalReport);
    }
    this._emit("close", code, reason);
  }

  /**
   * Send a frame: a Blob, ArrayBuffer or Uint8Array of JPEG, PNG or WebP bytes. Frames go out in the
   * order given (the gateway numbers them 0, 1, 2...). Resolves to true once handed to the socket, false
   * when the stream is ending or closed (why went to onError/onClose); never rejects for that.
   */
  sendFrame(image) {
    checkImage(image);
    if (this.state === "ending" || this.state === "closed") return Promise.resolve(false);
    const sending = this._sending.then(async () => {
      try {
        await this.ready;
      } catch {
        return false;
      }
      if (this.state !== "open") return false;
      const data = isBlob(image) ? await image.arrayBuffer() : image; // the ws package takes no Blob
      if (this.state !== "open") return false;
      this._socket.send(data);
      this.framesSent += 1;
      return true;
    });
    this._sending = sending.catch(() => false);
    return sending;
  }

  /**
   * End the session after the frames already given: resolves to its final report (null when the gateway
   * gave up waiting for it: see `late`); rejects with a GatewayError when the stream closed with an error.
   */
  end() {
    if (this._ending) return this._ending.promise;
    let resolve;
    let reject;
    const promise = new Promise((yes, no) => {
      resolve = yes;
      reject = no;
    });
    this._ending = { promise, resolve, reject };
    if (this.state === "closed") {
      const error = this.errors[this.errors.length - 1];
      if (this.closeCode === CLOSE_CODES.normal || !error) resolve(this.finalReport);
      else reject(error);
      return promise;
    }
    this._sending = this._sending.then(async () => {
      try {
        await this.ready;
      } catch {
        return; // closed before it started: _closed settled the end
      }
      if (this.state === "open") {
        this.state = "ending";
        this._socket.send(JSON.stringify({ type: "end" }));
      }
    });
    return promise;
  }

  /** Close the connection without ending; the gateway then ends the session (unless endOnDisconnect was false). */
  close(code = 1000, reason = "client closed") {
    this._socket.close(code, reason);
  }
}

/** One session over the WebSocket: see GatewayStream. */
export function openStream(options = {}) {
  return new GatewayStream(options);
}
