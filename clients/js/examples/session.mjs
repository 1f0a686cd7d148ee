// One session each way against a running gateway, as a Node backend would run it:
//   node --experimental-websocket examples/session.mjs http://127.0.0.1:8080 API_KEY frame.jpg
// (Node 22 and browsers need no flag.) Prints one JSON line: what came back over HTTP and over the
// WebSocket. tests/integration/test_js_client.py runs it against a real gateway and worker.
import { readFile } from "node:fs/promises";

import { GatewayClient, GatewayError } from "../integrity-gateway.js";

const [baseUrl, apiKey, imagePath, frames = "3"] = process.argv.slice(2);
if (!baseUrl || !imagePath) {
  console.error("usage: session.mjs BASE_URL API_KEY IMAGE [FRAMES]");
  process.exit(2);
}
const jpeg = new Uint8Array(await readFile(imagePath));
const count = Number(frames);
const client = new GatewayClient({ baseUrl, apiKey: apiKey || null });

// Over HTTP: each frame answered with its Result, the end with the final report.
const started = await client.startSession({ candidateId: "cand-js", metadata: { client: "js" } });
const verdicts = [];
for (let i = 0; i < count; i += 1) {
  const answer = await client.sendFrame(started.session_id, jpeg);
  verdicts.push(answer.pending ? "pending" : answer.result.verdict);
}
const report = (await client.endSession(started.session_id)) ?? (await client.report(started.session_id));

// Over the WebSocket: frames out, Results pushed back, the report at the end.
const stream = client.openStream({ candidateId: "cand-js-ws" });
const pushed = [];
stream.onResult((result) => pushed.push(result.frame_sequence));
const { sessionId } = await stream.ready;
for (let i = 0; i < count; i += 1) await stream.sendFrame(jpeg);
while (stream.resultsReceived < count) await new Promise((resolve) => setTimeout(resolve, 50));
const streamed = await stream.end();

// A refusal: a key the gateway does not know.
let refused = null;
try {
  await new GatewayClient({ baseUrl, apiKey: "not-a-key" }).startSession({ candidateId: "x" });
} catch (error) {
  if (!(error instanceof GatewayError)) throw error;
  refused = { status: error.status, error: error.error, requestId: error.requestId };
}

console.log(
  JSON.stringify({
    http: { session: started.session_id, verdicts, report: { frames: report.frames, verdict: report.verdict } },
    ws: { session: sessionId, pushed, report: { frames: streamed.frames, verdict: streamed.verdict } },
    refused,
  }),
);
