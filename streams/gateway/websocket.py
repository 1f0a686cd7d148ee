"""``WS /ws/stream``: one session per connection. A JSON hello (``session_id``, ``candidate_id``,
``policy``, ``metadata``, and ``api_key`` where a browser cannot send a header), binary JPEG/PNG messages
in, the session's Results pushed back as they arrive, ``{"type": "end"}`` to end it and receive its final
report, then a normal close. A client that goes away mid-session has its session ended for it (unless its
hello said ``"end_on_disconnect": false``), so it still gets its final report on the reports topic.

Nothing is buffered without bound: frames are read one at a time (the next only once the broker has the
last), and Results a client leaves unread fill a bounded queue, past which it is closed with 1013.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from streams.gateway.access import key_from_headers
from streams.gateway.service import Gateway, Refusal
from streams.kafka.follower import Subscription

__all__ = ["CLOSE_CODES", "stream"]

log = logging.getLogger("integrity.gateway")

HELLO_TIMEOUT_S = 10.0
# Close codes (RFC 6455 section 7.4.1), each with a reason text saying what to do.
CLOSE_CODES = {
    "normal": 1000,  # the session ended and its report was sent (or its report is late: see the message)
    "garbage": 1003,  # a message that is not a JSON hello/command or an image
    "refused": 1008,  # no or wrong API key, a frame rate above the session's, a session not ours
    "too_big": 1009,  # a frame above INTEGRITY_MAX_FRAME_BYTES
    "error": 1011,  # the gateway failed (the broker unreachable, say)
    "slow": 1013,  # Results left unread past INTEGRITY_GATEWAY_WEBSOCKET_QUEUE: read faster, reconnect
}


class _Close(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = CLOSE_CODES[kind], reason[:120]  # a close reason is at most 123 bytes


def _hello(message: Mapping[str, Any]) -> dict[str, Any]:
    text = message.get("text")
    if text is None:
        raise _Close("garbage", "the first message must be a JSON hello, not binary")
    try:
        hello = json.loads(text)
    except json.JSONDecodeError:
        raise _Close("garbage", "the first message must be a JSON hello") from None
    if not isinstance(hello, dict):
        raise _Close("garbage", "the hello must be a JSON object")
    metadata = hello.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _Close("garbage", "the hello's metadata must map strings to strings")
    for name in ("session_id", "candidate_id", "policy", "api_key"):
        if hello.get(name) is not None and not isinstance(hello[name], str):
            raise _Close("garbage", f"the hello's {name} must be a string")
    return hello


# Results and reports are on different topics, so the report may be read before the session's last
# Results: it is held until the final Result (always the session's last) has gone out, or this long.
FINAL_RESULT_WAIT_S = 5.0


async def _send_results(websocket: WebSocket, subscription: Subscription) -> None:
    """Results and then the report, as the follower hands them over; returns after the report."""
    report: dict[str, Any] | None = None
    final_sent = False
    while True:
        try:
            timeout = FINAL_RESULT_WAIT_S if report is not None else None
            kind, record = await asyncio.wait_for(subscription.queue.get(), timeout)
        except TimeoutError:
            kind, record = "late", {}  # the final Result did not come: the report goes out without it
        if kind == "report":
            report = record
        elif kind == "result":
            await websocket.send_json({"type": kind, **record})
            final_sent = final_sent or bool(record.get("final"))
        if report is not None and (final_sent or kind == "late"):
            await websocket.send_json({"type": "report", **report})
            return


async def _receive_frames(websocket: WebSocket, gateway: Gateway, platform: str, session_id: str) -> None:
    """Frames until the client says end; returns after sending the end record."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if (image := message.get("bytes")) is not None:
            try:
                await gateway.send_frame(platform, session_id, image, wait=False)
            except Refusal as refusal:
                if refusal.status == 413:
                    raise _Close("too_big", refusal.reason) from None
                if refusal.status in (401, 404, 409, 429):
                    raise _Close("refused", refusal.reason) from None
                await websocket.send_json({"type": "error", "status": refusal.status, "error": refusal.reason})
            continue
        try:
            command = json.loads(message.get("text") or "")
        except json.JSONDecodeError:
            raise _Close("garbage", 'text messages are JSON commands: {"type": "end"}') from None
        if not isinstance(command, dict) or command.get("type") != "end":
            raise _Close("garbage", 'the only command is {"type": "end"}; frames are binary messages')
        await gateway.end_session(platform, session_id, wait=False)
        return


async def stream(websocket: WebSocket, gateway: Gateway) -> None:
    await websocket.accept()
    subscription: Subscription | None = None
    session_id: str | None = None
    platform = ""
    ended = False
    end_on_disconnect = True
    try:
        try:
            first = await asyncio.wait_for(websocket.receive(), HELLO_TIMEOUT_S)
        except TimeoutError:
            raise _Close("refused", f"no hello within {HELLO_TIMEOUT_S:g} s") from None
        if first["type"] == "websocket.disconnect":
            return
        hello = _hello(first)
        headers = websocket.headers
        key = key_from_headers(headers.get("authorization"), headers.get("x-api-key")) or hello.get("api_key")
        try:
            platform = gateway.platform(key)
            wanted = hello.get("session_id") or None
            subscription = gateway.follower.subscribe(wanted) if wanted else None
            session = await gateway.start_session(
                platform,
                session_id=wanted,
                candidate_id=hello.get("candidate_id") or "",
                policy=hello.get("policy"),
                metadata=hello.get("metadata") or {},
            )
        except Refusal as refusal:
            raise _Close("garbage" if refusal.status == 422 else "refused", refusal.reason) from None
        session_id = session.session_id
        subscription = subscription or gateway.follower.subscribe(session_id)
        end_on_disconnect = hello.get("end_on_disconnect", True) is not False
        await websocket.send_json({"type": "started", "session_id": session_id, "policy": session.policy})

        sender = asyncio.create_task(_send_results(websocket, subscription))
        receiver = asyncio.create_task(_receive_frames(websocket, gateway, platform, session_id))
        overflow = asyncio.create_task(subscription.overflowed.wait())
        try:
            done, _ = await asyncio.wait({sender, receiver, overflow}, return_when=asyncio.FIRST_COMPLETED)
            if overflow in done:
                raise _Close("slow", "Results left unread: read them as they come (or send fewer frames)")
            if receiver in done:
                receiver.result()  # a close or a disconnect
                ended = True
                timeout = gateway.settings.gateway.report_timeout_s
                finished, _ = await asyncio.wait(
                    {sender, overflow}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if overflow in finished:
                    raise _Close("slow", "Results left unread: read them as they come")
                if sender not in finished:
                    late = {"type": "pending", "report": f"/sessions/{session_id}/report"}
                    await websocket.send_json(late | {"error": f"no final report within {timeout:g} s"})
            await websocket.close(CLOSE_CODES["normal"], "session ended")
        finally:
            for task in (sender, receiver, overflow):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
    except _Close as close:
        log.info("websocket of session %s closed %d: %s", session_id, close.code, close.reason)
        if websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close(close.code, close.reason)
    except WebSocketDisconnect:
        log.info("websocket of session %s: the client went away", session_id)
    except Exception:
        log.exception("websocket of session %s failed", session_id)
        with contextlib.suppress(Exception):
            await websocket.close(CLOSE_CODES["error"], "the gateway failed; see its log")
    finally:
        if subscription is not None:
            gateway.follower.unsubscribe(subscription)
        if session_id is not None and not ended and end_on_disconnect:
            with contextlib.suppress(Exception):  # the end record still goes out: the session gets its report
                await gateway.end_session(platform, session_id, wait=False)
