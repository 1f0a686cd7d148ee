// The client against fakes of fetch and WebSocket that answer as the gateway does (producers/gateway):
// node --test clients/js/test/. The browser test (tests/integration/test_gateway_demo_page.py) plays
// it against a real gateway and worker.
import assert from "node:assert/strict";
import { test } from "node:test";

import { CLOSE_CODES, GatewayClient, GatewayError, contentType, openStream, streamUrl } from "../integrity-gateway.js";

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "X-Request-ID": "rid-1", ...headers },
  });
}

function fakeFetch(answer) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url: new URL(url), init });
    return answer(new URL(url), init);
  };
  return { fetch, calls };
}

test("contentType and streamUrl", () => {
  assert.equal(contentType(JPEG), "image/jpeg");
  assert.equal(contentType(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0])), "image/png");
  const webp = new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 ");
  assert.equal(contentType(webp.buffer), "image/webp");
  assert.equal(contentType(new Uint8Array([1, 2, 3])), "application/octet-stream");
  assert.equal(streamUrl("http://gw:8080/"), "ws://gw:8080/ws/stream");
  assert.equal(streamUrl("https://gw.example/api"), "wss://gw.example/api/ws/stream");
  assert.throws(() => streamUrl("gw:8080"), TypeError);
});

test("HTTP: start, a frame and its Result, a pending frame, end with the report", async () => {
  const { fetch, calls } = fakeFetch((url, init) => {
    if (url.pathname === "/sessions") return jsonResponse(201, { session_id: "s-1", ...JSON.parse(init.body) });
    if (url.pathname === "/sessions/s%201/frames" && url.searchParams.get("wait") === "true") {
      return jsonResponse(200, { session_id: "s 1", frame_sequence: 0, verdict: "clear", risk_score: 3 });
    }
    if (url.pathname === "/sessions/s%201/frames") return jsonResponse(202, { sequence: 1, status: "pending" });
    if (url.pathname === "/sessions/s%201/end") return jsonResponse(200, { session_id: "s 1", frames: 2 });
    return jsonResponse(404, { error: "no such path", request_id: "rid-2" });
  });
  const client = new GatewayClient({ baseUrl: "http://gw:8080/", apiKey: "k-1", fetch });
  const started = await client.startSession({ candidateId: "c-1", metadata: { round: "1" } });
  assert.equal(started.session_id, "s-1");
  assert.deepEqual(JSON.parse(calls[0].init.body), { candidate_id: "c-1", metadata: { round: "1" } });
  assert.equal(calls[0].init.headers.Authorization, "Bearer k-1");
  assert.equal(calls[0].init.headers["Content-Type"], "application/json");

  const answer = await client.sendFrame("s 1", new Blob([JPEG]));
  assert.deepEqual(answer, {
    result: { session_id: "s 1", frame_sequence: 0, verdict: "clear", risk_score: 3 },
    sequence: 0,
    pending: false,
  });
  assert.equal(calls[1].init.headers["Content-Type"], "image/jpeg");
  const later = await client.sendFrame("s 1", JPEG, { wait: false, sequence: 1, capturedAtMs: 1234 });
  assert.deepEqual(later, { result: null, sequence: 1, pending: true });
  assert.equal(calls[2].url.searchParams.get("sequence"), "1");
  assert.equal(calls[2].url.searchParams.get("captured_at_ms"), "1234");

  assert.deepEqual(await client.endSession("s 1", { lastSequence: 1 }), { session_id: "s 1", frames: 2 });
  assert.deepEqual(JSON.parse(calls[3].init.body), { last_sequence: 1 });
  await assert.rejects(() => client.sendFrame("s 1", "not bytes"), TypeError);
});

test("HTTP: refusals are GatewayErrors with status, reason, request id and Retry-After", async () => {
  const { fetch } = fakeFetch((url) => {
    if (url.pathname === "/health") return jsonResponse(503, { ready: false, not_ready_because: ["starting"] });
    if (url.pathname.endsWith("/report")) return new Response("<html>bad gateway</html>", { status: 502 });
    return jsonResponse(429, { error: "above 4 frames/s", request_id: "rid-9" }, { "Retry-After": "2" });
  });
  const client = new GatewayClient({ baseUrl: "http://gw:8080", fetch });
  assert.deepEqual(await client.health(), { ready: false, not_ready_because: ["starting"] });
  await assert.rejects(
    () => client.sendFrame("s", JPEG),
    (error) =>
      error instanceof GatewayError &&
      error.status === 429 &&
      error.error === "above 4 frames/s" &&
      error.requestId === "rid-9" &&
      error.retryAfterS === 2,
  );
  await assert.rejects(
    () => client.report("s"),
    (error) => error.status === 502 && error.error === "<html>bad gateway</html>" && error.requestId === null,
  );
});

// A WebSocket that plays the gateway's side of /ws/stream.
class FakeGatewaySocket {
  static last = null;

  constructor(url) {
    this.url = url;
    this.sent = [];
    this.bufferedAmount = 0;
    FakeGatewaySocket.last = this;
    setTimeout(() => this.onopen?.({}), 0);
  }

  send(data) {
    this.sent.push(data);
    if (typeof data !== "string") {
      const sequence = this.sent.filter((d) => typeof d !== "string").length - 1;
      this.push({ type: "result", frame_sequence: sequence, verdict: "clear", risk_score: 1, final: false });
      return;
    }
    const message = JSON.parse(data);
    if (message.type === "end") {
      this.push({ type: "result", frame_sequence: -1, final: true, verdict: "clear" });
      this.push({ type: "report", session_id: this.hello.session_id || "gw-1", frames: 2 });
      setTimeout(() => this.onclose?.({ code: 1000, reason: "session ended" }), 0);
    } else if (this.hello === undefined) {
      this.hello = message;
      if (message.api_key !== "good") {
        setTimeout(() => this.onclose?.({ code: 1008, reason: "a valid API key is required" }), 0);
        return;
      }
      this.push({ type: "started", session_id: message.session_id || "gw-1", policy: "default@1" });
    }
  }

  push(message) {
    setTimeout(() => this.onmessage?.({ data: JSON.stringify(message) }), 0);
  }

  close(code, reason) {
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }
}

test("WebSocket: hello, frames (sent before the start too), Results, end and the report", async () => {
  const stream = openStream({
    baseUrl: "http://gw:8080",
    apiKey: "good",
    candidateId: "c-1",
    sessionId: "ws-1",
    WebSocket: FakeGatewaySocket,
  });
  const results = [];
  const closes = [];
  const reports = [];
  stream.onResult((r) => results.push(r));
  stream.onReport((r) => reports.push(r));
  stream.onClose((code, reason) => closes.push([code, reason]));
  const early = stream.sendFrame(new Blob([JPEG])); // waits for "started"
  assert.deepEqual(await stream.ready, { sessionId: "ws-1", policy: "default@1" });
  assert.equal(await early, true);
  assert.equal(await stream.sendFrame(JPEG), true);
  const socket = FakeGatewaySocket.last;
  assert.equal(socket.url, "ws://gw:8080/ws/stream");
  assert.deepEqual(JSON.parse(socket.sent[0]), {
    candidate_id: "c-1",
    metadata: {},
    session_id: "ws-1",
    end_on_disconnect: true,
    api_key: "good",
  });
  assert.ok(socket.sent[1] instanceof ArrayBuffer); // a Blob goes as its bytes (the ws package takes no Blob)
  const report = await stream.end();
  assert.deepEqual(report, { session_id: "ws-1", frames: 2 });
  assert.deepEqual(reports, [report]);
  assert.equal(stream.end(), stream.end()); // once
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(
    results.map((r) => r.frame_sequence),
    [0, 1, -1],
  );
  assert.equal(stream.framesSent, 2);
  assert.equal(stream.resultsReceived, 2); // the final Result answers the session, not a frame
  assert.deepEqual(closes, [[CLOSE_CODES.normal, "session ended"]]);
  assert.equal(await stream.sendFrame(JPEG), false); // closed: nothing sent, nothing thrown
});

test("WebSocket: a refused key rejects ready and end, and reaches onError and onClose", async () => {
  const stream = openStream({ baseUrl: "http://gw:8080", apiKey: "wrong", WebSocket: FakeGatewaySocket });
  const errors = [];
  stream.onError((e) => errors.push(e));
  const sent = stream.sendFrame(JPEG);
  await assert.rejects(stream.ready, (e) => e instanceof GatewayError && e.status === 1008 && e.closeCode === 1008);
  assert.equal(await sent, false);
  await assert.rejects(stream.end(), /1008: a valid API key is required/);
  assert.equal(errors.length, 1);
  assert.equal(stream.closeCode, 1008);
});

test("WebSocket: none given and none global says how to pass one", () => {
  const saved = globalThis.WebSocket;
  delete globalThis.WebSocket;
  try {
    assert.throws(() => openStream({ baseUrl: "http://gw:8080" }), /pass one/);
  } finally {
    if (saved) globalThis.WebSocket = saved;
  }
});
