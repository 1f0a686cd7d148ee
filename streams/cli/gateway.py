"""``integrity gateway``: the HTTP and WebSocket API over the stream (``streams.gateway``), on uvicorn;
``integrity gateway hash-key``: the hash of an API key, for INTEGRITY_GATEWAY_API_KEYS;
``integrity gateway postman``: a Postman collection of the API, made from its OpenAPI schema."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from pathlib import Path
from typing import Any

from streams.cli.common import refuse, settings_for
from streams.settings import flag_help

__all__ = ["register"]


def _cmd_gateway(args: argparse.Namespace) -> int:
    import uvicorn

    from streams.gateway.app import create_app
    from streams.kafka.admin import ensure_topics

    settings = settings_for(args, INTEGRITY_GATEWAY_HOST=args.host, INTEGRITY_GATEWAY_PORT=args.port)
    try:
        app = create_app(settings)
    except ValueError as exc:  # a malformed key list: refused before listening
        return refuse(str(exc))
    asyncio.run(ensure_topics(settings))
    level = settings.log_level.lower()
    logging.getLogger("integrity.gateway").setLevel(level.upper())
    print(
        f"gateway on http://{settings.gateway.host}:{settings.gateway.port} (API docs at /docs), "
        f"broker {settings.broker.bootstrap_servers}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=settings.gateway.host,
        port=settings.gateway.port,
        log_level=level,
        access_log=False,  # the gateway logs each request itself, with its request id and platform
        # A WebSocket message over a frame's limit is closed with 1009 by uvicorn itself.
        ws_max_size=settings.ingress.max_frame_bytes + 1024,
        # Frames are JPEG (deflate gains nothing) and Results small: compressing both ways cost ~5 % of the
        # gateway's CPU under `integrity bench gateway` (py-spy), for nothing.
        ws_per_message_deflate=False,
        log_config=None,
    )
    return 0


def _cmd_hash_key(args: argparse.Namespace) -> int:
    from streams.gateway.access import hash_key

    key = sys.stdin.readline().strip() if not sys.stdin.isatty() else getpass.getpass("API key: ").strip()
    if not key:
        return refuse("no key given (on stdin)")
    name = args.platform or "platform"
    print(f"{name}:{hash_key(key)}")
    return 0


def _cmd_postman(args: argparse.Namespace) -> int:
    from streams.gateway.app import create_app
    from streams.gateway.postman import collection_from_openapi

    settings = settings_for(args)
    base_url = args.base_url or f"http://localhost:{settings.gateway.port}"
    collection = collection_from_openapi(create_app(settings).openapi(), base_url=base_url)
    text = json.dumps(collection, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    Path(args.out).write_text(text)
    requests = sum(len(folder["item"]) for folder in collection["item"])
    print(f"wrote {args.out}: {requests} requests; import it in Postman and set baseUrl and apiKey", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("gateway", help="the HTTP and WebSocket gateway: frames in, Results and reports out")
    p.add_argument("--host", help=flag_help("INTEGRITY_GATEWAY_HOST"))
    p.add_argument("--port", type=int, help=flag_help("INTEGRITY_GATEWAY_PORT"))
    p.set_defaults(func=_cmd_gateway)
    inner = p.add_subparsers(dest="gateway_command")
    h = inner.add_parser("hash-key", help="print `platform:sha256` of an API key read from stdin")
    h.add_argument("--platform", help="the platform's name in INTEGRITY_GATEWAY_API_KEYS")
    h.set_defaults(func=_cmd_hash_key)
    m = inner.add_parser("postman", help="a Postman collection (v2.1) of the API, made from its OpenAPI schema")
    m.add_argument("--out", help="file to write (default: stdout)")
    m.add_argument("--base-url", help="the collection's baseUrl (default: http://localhost:INTEGRITY_GATEWAY_PORT)")
    m.set_defaults(func=_cmd_postman)
