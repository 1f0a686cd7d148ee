// The gateway's demo page: the webcam, through WS /ws/stream, to the workers and back. Frames are drawn
// from the camera's preview onto a canvas, sent as JPEGs and forgotten; nothing is kept.
import { GatewayClient, openStream } from "./integrity-gateway.js";

const MAX_SIZE = [640, 480]; // a webcam frame the vision reads well; larger only costs bandwidth
const JPEG_QUALITY = 0.8;
// A frame is ~20-60 kB: more than this still unsent means the network is behind, so a frame is skipped.
const MAX_BUFFERED_BYTES = 256 * 1024;

// Words for the Result's verdict (schemas/integrity.Verdict.avsc); an unknown one shows its name alone.
const VERDICT_WORDS = {
  clear: "nothing of note",
  review: "worth a reviewer's look",
  flagged: "likely a breach of the rules",
  inconclusive: "not enough to judge (no face in view?)",
};

const $ = (id) => document.getElementById(id);
const body = document.body;
// The gateway's API lives one level up from /demo/ (a proxy may serve it under a path prefix).
const baseUrl = new URL("..", window.location.href).href.replace(/\/+$/, "");
const keysRequired = body.dataset.apiKeys === "required";
const maxFps = Number(body.dataset.maxFps) || 15;

let camera = null; // the MediaStream
let stream = null; // the GatewayStream
let timer = null;
let encoding = false; // a frame is being drawn and encoded: the next tick waits
let skipped = 0;
let stopping = false;

function setState(state, words = state) {
  $("state").dataset.state = state;
  $("state").textContent = words;
}

function showError(words) {
  $("error").textContent = words;
  $("error").hidden = !words;
}

function fmt(value, digits = 0) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

function showVerdict(element, verdict) {
  element.dataset.verdict = verdict || "";
  element.textContent = verdict || "waiting";
}

function fillReasons(list, reasons) {
  list.replaceChildren();
  if (!reasons || reasons.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "no reasons: nothing has added to the risk";
    list.append(li);
    return;
  }
  for (const { event_type: type, share } of reasons) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = type.replaceAll("_", " ");
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.round(Math.max(0, Math.min(1, share)) * 100)}%`;
    bar.append(fill);
    const pct = document.createElement("span");
    pct.className = "share";
    pct.textContent = `${Math.round(share * 100)}%`;
    li.append(name, bar, pct);
    list.append(li);
  }
}

function showResult(result) {
  showVerdict($("verdict"), result.verdict);
  $("verdict-words").textContent = VERDICT_WORDS[result.verdict] || "";
  $("risk").textContent = fmt(result.risk_score);
  $("risk-bar").style.width = `${Math.max(0, Math.min(100, result.risk_score || 0))}%`;
  $("risk-bar").dataset.verdict = result.verdict;
  if (!result.final) {
    // The final Result answers the session, not a frame: its faces and gaze describe nothing.
    $("faces").textContent = String(result.face_count);
    // Until the candidate's baseline is set (their first seconds), gaze is judged from the camera's axis.
    const learning = { collecting: " (learning)", missing: " (no baseline)" }[result.gaze_baseline] || "";
    $("gaze").textContent = result.gaze ? `${result.gaze}${learning}` : "unread";
  }
  $("attention").textContent = `${fmt(result.attention)}%`;
  $("unassessable").textContent = `${fmt(100 * (result.unassessable_share || 0))}%`;
  fillReasons($("reasons"), result.reasons);
  const chips = $("conditions");
  chips.replaceChildren();
  for (const condition of result.conditions || []) {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = condition.replaceAll("_", " ");
    chips.append(chip);
  }
  if (!chips.childElementCount) {
    const none = document.createElement("span");
    none.className = "empty";
    none.textContent = "nothing";
    chips.append(none);
  }
  if (result.policy) $("policy-used").textContent = result.policy;
  $("results").textContent = String(stream ? stream.resultsReceived : 0);
}

function showReport(report) {
  showVerdict($("report-verdict"), report.verdict);
  $("report-why").textContent = `${report.reason} · ${report.policy}`;
  $("report-risk").textContent = fmt(report.final_risk_score);
  $("report-peak").textContent = fmt(report.peak_risk_score);
  $("report-frames").textContent = String(report.frames);
  $("report-observed").textContent = `${fmt(report.observed_s, 1)} s`;
  $("report-attention").textContent = `${fmt(report.attention)}%`;
  const problems = Object.keys(report.quality_s || {}).map((kind) => kind.replaceAll("_", " "));
  $("report-unassessable").textContent =
    `${fmt(100 * (report.unassessable_share || 0))}%` + (problems.length ? ` (${problems.join(", ")})` : "");
  fillReasons($("report-reasons"), report.reasons);
  $("report").hidden = false;
}

function resetLive() {
  showVerdict($("verdict"), "");
  $("verdict-words").textContent = "Waiting for the first Result…";
  for (const id of ["risk", "faces", "gaze", "attention", "unassessable", "session", "policy-used"]) {
    $(id).textContent = "–";
  }
  for (const id of ["frames-sent", "results", "frames-skipped"]) $(id).textContent = "0";
  $("risk-bar").style.width = "0";
  fillReasons($("reasons"), []);
  $("report").hidden = true;
  showError("");
}

function cameraWords(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Camera access was denied. Allow the camera for this page (the icon in the address bar) and press Start again.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No camera was found on this computer.";
    case "NotReadableError":
    case "AbortError":
      return "The camera is in use by another program, or could not be started.";
    default:
      return `The camera could not be opened: ${error && error.message ? error.message : error}`;
  }
}

function gatewayWords(error, started) {
  const code = error && error.status;
  const reason = error && error.error ? error.error : String(error);
  if (code === 1008) return `The gateway refused the session: ${reason}. Check the API key (or send fewer frames/s).`;
  if (code === 1006 || code === 1001) return `${started ? "Lost" : "Could not reach"} the gateway: ${reason}.`;
  if (code === 1011) return `The gateway failed: ${reason}.`;
  if (code === 1013) return `The gateway closed the session: ${reason}.`;
  return `The gateway closed the session (${code}): ${reason}.`;
}

function stopCamera() {
  if (timer !== null) clearInterval(timer);
  timer = null;
  if (camera) for (const track of camera.getTracks()) track.stop();
  if (camera) $("preview-empty").textContent = "Camera off. Press Start for a new session.";
  camera = null;
  $("preview").srcObject = null;
  $("preview-empty").hidden = false;
}

function setRunning(running) {
  $("start").disabled = running;
  $("stop").disabled = !running;
  for (const id of ["api-key", "candidate", "policy", "fps"]) $(id).disabled = running;
}

/** One frame: the preview drawn at most 640x480, as a JPEG, to the gateway; skipped while it is behind. */
function tick() {
  const video = $("preview");
  if (!stream || encoding || stream.state !== "open" || !video.videoWidth) return;
  if (stream.bufferedAmount > MAX_BUFFERED_BYTES) {
    skipped += 1;
    $("frames-skipped").textContent = String(skipped);
    return;
  }
  const scale = Math.min(1, MAX_SIZE[0] / video.videoWidth, MAX_SIZE[1] / video.videoHeight);
  const canvas = $("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  encoding = true;
  const current = stream;
  canvas.toBlob(
    (blob) => {
      if (!blob || current !== stream) {
        encoding = false;
        return;
      }
      current.sendFrame(blob).then((sent) => {
        encoding = false;
        if (sent) $("frames-sent").textContent = String(current.framesSent);
      });
    },
    "image/jpeg",
    JPEG_QUALITY,
  );
}

async function start(event) {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (keysRequired && !key) {
    showError("This gateway needs an API key: enter it above.");
    $("api-key").focus();
    return;
  }
  const fps = Number($("fps").value);
  if (!(fps > 0 && fps <= maxFps)) {
    showError(`Frames/s must be above 0 and at most ${maxFps} (the gateway's limit per session).`);
    return;
  }
  resetLive();
  setRunning(true);
  stopping = false;
  skipped = 0;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError("This browser gives no camera to this page: open it over https, or at localhost.");
    setState("error", "no camera");
    setRunning(false);
    return;
  }
  setState("camera", "opening the camera…");
  try {
    camera = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  } catch (error) {
    showError(cameraWords(error));
    setState("error", "no camera");
    setRunning(false);
    return;
  }
  const video = $("preview");
  video.srcObject = camera;
  $("preview-empty").hidden = true;
  await video.play().catch(() => {}); // autoplay of a muted preview: allowed; the frames need no playback anyway

  setState("connecting", "connecting…");
  const current = openStream({
    baseUrl,
    apiKey: key || null,
    candidateId: $("candidate").value.trim(),
    policy: $("policy").value.trim() || undefined,
    metadata: { source: "gateway-demo-page" },
  });
  stream = current;
  current.onResult(showResult);
  current.onReport(showReport);
  current.onError((error) => {
    // A refused frame (a rate above the session's, say) is said; the session goes on.
    if (!error.closeCode) showError(`A frame was refused: ${error.error}`);
  });
  current.onClose((code, reason) => {
    if (current !== stream) return;
    stopCamera();
    setRunning(false);
    if (!current.lastResult) $("verdict-words").textContent = "No Results: the session did not run.";
    if (code === 1000) {
      setState("ended", current.finalReport ? "ended: report in" : "ended");
      if (!current.finalReport && current.late) showError(`The final report is late: read it at ${current.late.report}.`);
    } else {
      const error = current.errors[current.errors.length - 1];
      showError(gatewayWords(error || { status: code, error: reason }, current.sessionId !== null));
      setState(code === 1008 ? "refused" : "closed", code === 1008 ? "refused" : "disconnected");
    }
  });
  try {
    const { sessionId, policy } = await current.ready;
    if (current !== stream || stopping) return;
    $("session").textContent = sessionId;
    $("policy-used").textContent = policy;
    body.dataset.session = sessionId;
    setState("live", "live");
    timer = setInterval(tick, 1000 / fps);
    tick();
  } catch {
    // said by onClose
  }
}

async function stop() {
  if (!stream || stopping) return;
  stopping = true;
  $("stop").disabled = true;
  if (timer !== null) clearInterval(timer);
  timer = null;
  setState("ending", "ending: waiting for the report…");
  try {
    const report = await stream.end();
    if (report) showReport(report);
  } catch {
    // said by onClose
  }
  stopCamera();
}

async function loadHealth() {
  $("api-key-field").hidden = !keysRequired;
  try {
    const health = await new GatewayClient({ baseUrl }).health();
    if (!health.ready && $("state").dataset.state === "idle") {
      setState("idle", `gateway not ready: ${health.not_ready_because.join(", ")}`);
    }
  } catch (error) {
    setState("error", "gateway unreachable");
    showError(`The gateway's health check at ${baseUrl}/health failed: ${error.message || error}`);
  }
}

$("fps").max = String(maxFps);
$("controls").addEventListener("submit", start);
$("stop").addEventListener("click", stop);
window.addEventListener("pagehide", () => {
  // Leaving the page ends the session (the gateway ends it on disconnect): its report still goes out.
  if (stream && stream.state !== "closed") stream.close(1000, "page closed");
  stopCamera();
});
loadHealth();
