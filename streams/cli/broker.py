"""``integrity broker``: the embedded broker (tansu, memory storage) with the topics created;
``integrity topics``: the topics, with their partition counts, on the configured broker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from streams.cli.common import settings_for
from streams.settings import EMBEDDED_BOOTSTRAP

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("broker", help="run the embedded broker and create the topics")
    p.add_argument("--listen", default=EMBEDDED_BOOTSTRAP, help="host:port to listen on (default %(default)s)")
    p.set_defaults(func=_cmd_broker)

    p = sub.add_parser("topics", help="create the topics on the configured broker")
    p.set_defaults(func=_cmd_topics)


def _cmd_broker(args: argparse.Namespace) -> int:
    from streams.kafka.admin import ensure_topics
    from streams.kafka.embedded_broker import EmbeddedBroker

    host, port = args.listen.rsplit(":", 1)
    limit_mb = settings_for(args).broker.embedded_broker_max_mb
    with EmbeddedBroker(host, int(port), max_memory_mb=limit_mb) as broker:
        # All the embedded broker speaks is PLAINTEXT, on the address it listens on.
        settings = settings_for(
            args, KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers, KAFKA_SECURITY_PROTOCOL="PLAINTEXT"
        )
        asyncio.run(ensure_topics(settings))
        bound = f"stopped at {limit_mb:g} MiB" if limit_mb > 0 else "no limit"
        print(
            f"embedded broker on {broker.bootstrap_servers}: memory storage, every record kept until it stops "
            f"({bound}, INTEGRITY_EMBEDDED_BROKER_MAX_MB); Ctrl-C stops it",
            flush=True,
        )
        print(
            "its topics start empty: remove the workers' data folders (.integrity/worker) from earlier runs", flush=True
        )
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            assert broker.process is not None
            broker.process.wait()
        if broker.stopped_because:
            print(f"integrity broker: {broker.stopped_because}", file=sys.stderr)
            return 1
    return 0


def _cmd_topics(args: argparse.Namespace) -> int:
    from streams.kafka.admin import ensure_topics

    created = asyncio.run(ensure_topics(settings_for(args)))
    print("created: " + (", ".join(created) if created else "nothing (all topics exist)"))
    return 0
