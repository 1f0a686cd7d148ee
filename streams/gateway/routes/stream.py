"""``WS /ws/stream``: one session per connection (``streams.gateway.websocket``)."""

from fastapi import APIRouter, WebSocket

from streams.gateway.websocket import stream

__all__ = ["router"]

router = APIRouter()


@router.websocket("/ws/stream")
async def websocket_stream(websocket: WebSocket) -> None:
    await stream(websocket, websocket.app.state.gateway)
