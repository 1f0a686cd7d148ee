"""Clients of the gateway (``integrity gateway``): ``GatewayClient`` (blocking) and ``AsyncGatewayClient``
(asyncio) over HTTP, and ``GatewayStream`` over the WebSocket (``AsyncGatewayClient.stream``).

They need httpx and websockets only: no Kafka, no image decoding, no project settings, so a platform can
vendor this module with ``errors.py``. Every refusal raises ``GatewayError`` with the gateway's status,
reason and request id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, InvalidStatus

from producers.client.errors import GatewayError

if TYPE_CHECKING:  # the record types only: importing schemas at runtime would pull in fastavro
    from schemas.records import FinalReport, Result

__all__ = ["AsyncGatewayClient", "FrameAnswer", "GatewayClient", "GatewayStream", "content_type"]

DEFAULT_TIMEOUT_S = 60.0  # above the gateway's own waits (5 s for a Result, 30 s for a report)


@dataclass(frozen=True)
class FrameAnswer:
    """What sending a frame got: its Result (``pending`` False), or only its sequence (``pending`` True:
    sent, its Result not in within the gateway's wait, or ``wait=False``; see ``latest_result``)."""

    result: Result | None
    sequence: int
    pending: bool


def content_type(image: bytes) -> str:
    """The image's media type from its first bytes. Anything else goes as octet-stream, and the gateway
    answers 415 with its reason (it checks the bytes, not this header)."""
    if image.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if image.startswith(b"\x89PNG"):
        return "image/png"
    if image.startswith(b"RIFF") and image[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


def _auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _path(session_id: str, tail: str) -> str:
    return f"/sessions/{quote(session_id, safe='')}/{tail}"


def _start_body(
    candidate_id: str, session_id: str | None, policy: str | None, metadata: Mapping[str, str] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"candidate_id": candidate_id, "metadata": dict(metadata or {})}
    if session_id is not None:
        body["session_id"] = session_id
    if policy is not None:
        body["policy"] = policy
    return body


def _frame_request(
    image: bytes, sequence: int | None, captured_at_ms: int | None, wait: bool
) -> tuple[dict[str, str], dict[str, str]]:
    """(query, headers) of a frame's POST."""
    # Always say `wait`: the gateway's default (INTEGRITY_GATEWAY_WAIT_FOR_RESULT) may be either.
    params = {"wait": "true" if wait else "false"}
    if sequence is not None:
        params["sequence"] = str(sequence)
    if captured_at_ms is not None:
        params["captured_at_ms"] = str(captured_at_ms)
    return params, {"Content-Type": content_type(image)}


def _end_request(last_sequence: int | None, wait: bool) -> tuple[dict[str, str], dict[str, Any]]:
    body = {} if last_sequence is None else {"last_sequence": last_sequence}
    return {"wait": "true" if wait else "false"}, body


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:  # an HTTP date: no gateway of ours sends one; a proxy might
        return None


def _error(status: int, body: bytes, request_id: str | None, retry_after: str | None) -> GatewayError:
    """The gateway's JSON refusal; a proxy's page in front of it becomes its text, shortened."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return GatewayError(status, parsed["error"], parsed.get("request_id") or request_id, _retry_after(retry_after))
    text = body.decode(errors="replace").strip()[:200] or f"HTTP {status}"
    return GatewayError(status, text, request_id, _retry_after(retry_after))


def _refusal(response: httpx.Response) -> GatewayError:
    headers = response.headers
    return _error(response.status_code, response.content, headers.get("x-request-id"), headers.get("retry-after"))


def _frame_answer(response: httpx.Response) -> FrameAnswer:
    body = response.json()
    if response.status_code == 202:
        return FrameAnswer(None, int(body["sequence"]), True)
    return FrameAnswer(cast("Result", body), int(body["frame_sequence"]), False)


def _end_answer(response: httpx.Response) -> FinalReport | None:
    return None if response.status_code == 202 else cast("FinalReport", response.json())


def _ws_url(base_url: str) -> str:
    url = base_url.rstrip("/") + "/ws/stream"
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    return url


class GatewayClient:
    """The gateway over HTTP, blocking; a context manager (or call ``close``).

    ``retry_on_429``: a frame refused for the session's rate is sent again once, after Retry-After.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        retry_on_429: bool = False,
    ) -> None:
        self.base_url = base_url
        self.retry_on_429 = retry_on_429
        self._http = httpx.Client(base_url=base_url, headers=_auth(api_key), timeout=timeout)

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.status_code == 429 and self.retry_on_429:
            time.sleep(_refusal(response).retry_after_s or 1.0)
            response = self._http.request(method, path, **kwargs)
        if response.is_error and response.status_code not in ok:
            raise _refusal(response)
        return response

    def start_session(
        self,
        candidate_id: str = "",
        session_id: str | None = None,
        policy: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Start a session: ``{session_id, candidate_id, policy, frames}`` (the id is made when not given)."""
        body = _start_body(candidate_id, session_id, policy, metadata)
        return cast("dict[str, Any]", self._request("POST", "/sessions", json=body).json())

    def send_frame(
        self,
        session_id: str,
        image: bytes,
        sequence: int | None = None,
        captured_at_ms: int | None = None,
        wait: bool = True,
    ) -> FrameAnswer:
        """Send a JPEG, PNG or WebP frame; numbered by the gateway unless ``sequence`` is given."""
        params, headers = _frame_request(image, sequence, captured_at_ms, wait)
        response = self._request("POST", _path(session_id, "frames"), content=image, params=params, headers=headers)
        return _frame_answer(response)

    def end_session(self, session_id: str, last_sequence: int | None = None, wait: bool = True) -> FinalReport | None:
        """End the session: its final report, or None when it is not in yet (see ``report``)."""
        params, body = _end_request(last_sequence, wait)
        return _end_answer(self._request("POST", _path(session_id, "end"), json=body, params=params))

    def latest_result(self, session_id: str) -> Result:
        return cast("Result", self._request("GET", _path(session_id, "result")).json())

    def report(self, session_id: str) -> FinalReport:
        """The final report of an ended session (``GatewayError`` 404 until it is in)."""
        return cast("FinalReport", self._request("GET", _path(session_id, "report")).json())

    def health(self) -> dict[str, Any]:
        """``{ready, not_ready_because, api_keys}``; a gateway not ready answers 503 with that body too."""
        return cast("dict[str, Any]", self._request("GET", "/health", ok=(503,)).json())


class AsyncGatewayClient:
    """The gateway over HTTP and WebSocket, for asyncio; an async context manager (or ``await close()``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        retry_on_429: bool = False,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.timeout = timeout
        self.retry_on_429 = retry_on_429
        self._http = httpx.AsyncClient(base_url=base_url, headers=_auth(api_key), timeout=timeout)

    async def __aenter__(self) -> AsyncGatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, path, **kwargs)
        if response.status_code == 429 and self.retry_on_429:
            await asyncio.sleep(_refusal(response).retry_after_s or 1.0)
            response = await self._http.request(method, path, **kwargs)
        if response.is_error and response.status_code not in ok:
            raise _refusal(response)
        return response

    async def start_session(
        self,
        candidate_id: str = "",
        session_id: str | None = None,
        policy: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body = _start_body(candidate_id, session_id, policy, metadata)
        return cast("dict[str, Any]", (await self._request("POST", "/sessions", json=body)).json())

    async def send_frame(
        self,
        session_id: str,
        image: bytes,
        sequence: int | None = None,
        captured_at_ms: int | None = None,
        wait: bool = True,
    ) -> FrameAnswer:
        params, headers = _frame_request(image, sequence, captured_at_ms, wait)
        path = _path(session_id, "frames")
        return _frame_answer(await self._request("POST", path, content=image, params=params, headers=headers))

    async def end_session(
        self, session_id: str, last_sequence: int | None = None, wait: bool = True
    ) -> FinalReport | None:
        params, body = _end_request(last_sequence, wait)
        return _end_answer(await self._request("POST", _path(session_id, "end"), json=body, params=params))

    async def latest_result(self, session_id: str) -> Result:
        return cast("Result", (await self._request("GET", _path(session_id, "result"))).json())

    async def report(self, session_id: str) -> FinalReport:
        return cast("FinalReport", (await self._request("GET", _path(session_id, "report"))).json())

    async def health(self) -> dict[str, Any]:
        return cast("dict[str, Any]", (await self._request("GET", "/health", ok=(503,))).json())

    def stream(
        self,
        candidate_id: str = "",
        session_id: str | None = None,
        policy: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        end_on_disconnect: bool = True,
    ) -> GatewayStream:
        """A session over the WebSocket (``async with client.stream(...) as s``); see ``GatewayStream``."""
        hello: dict[str, Any] = _start_body(candidate_id, session_id, policy, metadata)
        hello["end_on_disconnect"] = end_on_disconnect
        return GatewayStream(_ws_url(self.base_url), hello, self.api_key, open_timeout=self.timeout)


# Marks the end of a stream's messages in its queue; stays there for every reader.
_DONE = object()


class GatewayStream:
    """One session over ``WS /ws/stream``: frames out, Results back as they come, then the final report.

    ``send_frame`` sends an image; ``results()`` yields Results as they come, until the report (an
    ``error`` message for one frame raises ``GatewayError`` from it and the stream goes on); ``end()``
    ends the session and returns its report, or None when the gateway gave up waiting for it. Results
    nobody took from ``results()`` are in ``received`` after ``end()``; per-frame errors in ``errors``.
    A close by the gateway with an error code (1003, 1008, 1009, 1011, 1013) raises ``GatewayError`` with
    that ``close_code`` and the gateway's reason from whichever call meets it.

    Messages are read as they arrive, into memory, whether or not ``results()`` is iterated: so the
    gateway never closes a client for being slow (1013), and one task may send while another reads.
    """

    def __init__(self, url: str, hello: Mapping[str, Any], api_key: str | None, *, open_timeout: float) -> None:
        self.url = url
        self.session_id = ""
        self.policy = ""
        self.received: list[Result] = []
        self.errors: list[GatewayError] = []
        self.final_report: FinalReport | None = None
        # The gateway's word when the report did not come within its wait: {"report": where, "error"}.
        self.late: dict[str, Any] | None = None
        self._hello = dict(hello)
        self._api_key = api_key
        self._open_timeout = open_timeout
        self._ws: ClientConnection | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self._closed_by: GatewayError | None = None
        self._done = asyncio.Event()

    @property
    def _connection(self) -> ClientConnection:
        assert self._ws is not None, "use the stream as `async with client.stream(...) as s`"
        return self._ws

    async def __aenter__(self) -> GatewayStream:
        try:
            # The key as a header, not in the hello: it stays out of the message log of any proxy.
            self._ws = await connect(self.url, additional_headers=_auth(self._api_key), open_timeout=self._open_timeout)
        except InvalidStatus as exc:  # refused before the upgrade (a proxy, a wrong path)
            response = exc.response
            headers = response.headers
            raise _error(
                response.status_code,
                bytes(response.body or b""),
                headers.get("x-request-id"),
                headers.get("retry-after"),
            ) from None
        try:
            await self._connection.send(json.dumps(self._hello))
            started = json.loads(await self._connection.recv())
        except ConnectionClosed as closed:
            await self._connection.close()
            raise _closed(closed) from None
        except BaseException:
            await self._connection.close()
            raise
        self.session_id, self.policy = started["session_id"], started["policy"]
        self._reader = asyncio.create_task(self._read(), name=f"gateway-stream-{self.session_id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection; a session not ended is ended by the gateway (unless ``end_on_disconnect``
        was False)."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        try:
            async for raw in self._connection:  # ends at a normal close; raises at an error close
                try:
                    message = json.loads(raw)
                    kind = message.pop("type")
                except (ValueError, AttributeError, KeyError):
                    continue  # nothing the gateway sends; not worth failing the session over
                if kind == "result":
                    self._queue.put_nowait(message)
                elif kind == "error":
                    error = GatewayError(int(message.get("status", 0)), str(message.get("error", "")))
                    self._queue.put_nowait(error)
                elif kind == "report":
                    self.final_report = cast("FinalReport", message)
                elif kind == "pending":
                    self.late = message
        except ConnectionClosedError as closed:
            self._closed_by = _closed(closed)
        finally:
            self._done.set()
            self._queue.put_nowait(_DONE)

    async def send_frame(self, image: bytes) -> None:
        """Send a JPEG, PNG or WebP frame (numbered by the gateway, in the order sent)."""
        if self._closed_by is not None:
            raise self._closed_by
        try:
            await self._connection.send(image)
        except ConnectionClosed as closed:
            raise _closed(closed) from None

    async def _next(self) -> Any:
        item = await self._queue.get()
        if item is _DONE:
            self._queue.put_nowait(_DONE)  # for the next reader too
        return item

    async def results(self) -> AsyncIterator[Result]:
        """Results as they come, until the final report (after ``end()``) or the close."""
        while (item := await self._next()) is not _DONE:
            if isinstance(item, GatewayError):
                raise item
            yield cast("Result", item)
        if self._closed_by is not None:
            raise self._closed_by

    async def end(self) -> FinalReport | None:
        """End the session; its final report (None if the gateway's wait for it ran out: see ``late``)."""
        if not self._done.is_set():
            with contextlib.suppress(ConnectionClosed):  # closed meanwhile: the reader has recorded how
                await self._connection.send(json.dumps({"type": "end"}))
            await self._done.wait()
        while (item := await self._next()) is not _DONE:
            if isinstance(item, GatewayError):
                self.errors.append(item)
            else:
                self.received.append(cast("Result", item))
        if self._closed_by is not None:
            raise self._closed_by
        return self.final_report


def _closed(closed: ConnectionClosed) -> GatewayError:
    """The gateway's close (code and reason) as a GatewayError; 1006 when the connection just broke."""
    frame = closed.rcvd
    if frame is None:
        return GatewayError(1006, "the connection was lost without a close", close_code=1006)
    return GatewayError(frame.code, frame.reason or "closed", close_code=frame.code)
