"""``integrity``: the command line of the product. The commands are in ``streams.cli.registry``; here a
command runs, and a configuration it cannot run with is said in one line (exit status 2)."""

from __future__ import annotations

import logging
import os
import sys

from aiokafka.errors import KafkaConnectionError

from streams.cli.common import refuse
from streams.cli.registry import build_parser
from streams.settings import EMBEDDED_BOOTSTRAP, SettingsError
from streams.vision.objects import WeightsError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.func(args)
    except (SettingsError, WeightsError) as exc:
        return refuse(str(exc))
    except KafkaConnectionError as exc:
        servers = args.bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS", EMBEDDED_BOOTSTRAP)
        protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
        secured = (
            "" if protocol.upper() == "PLAINTEXT" else f" over {protocol} (are the KAFKA_SASL_* / KAFKA_SSL_* right?)"
        )
        return refuse(
            f"cannot reach the Kafka broker at {servers}{secured} ({exc}). Is it running? Set KAFKA_BOOTSTRAP_SERVERS, "
            "or start the embedded one with `integrity broker`"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
