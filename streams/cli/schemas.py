"""``integrity schemas``: checks (or ``--write``s) the published self-contained schemas; ``--order``
prints the loading order of the split source files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser("schemas", help="check (or --write) the published self-contained schemas")
    p.add_argument("--write", action="store_true", help="write schemas/published/ from the source files")
    p.add_argument("--order", action="store_true", help="print the order in which to load the source files")
    p.set_defaults(func=_cmd_schemas)


def _cmd_schemas(args: argparse.Namespace) -> int:
    from schemas.published import PUBLISHED_DIR, loading_order, published_files, write_published

    if args.order:
        print("\n".join(loading_order()))
        return 0
    if args.write:
        for archived in write_published():
            print(f"filed the previous version into {archived}", file=sys.stderr)
        print(f"wrote {len(published_files())} schemas to {PUBLISHED_DIR}", file=sys.stderr)
        return 0
    stale = [
        name
        for name, text in published_files().items()
        if not (PUBLISHED_DIR / name).is_file() or (PUBLISHED_DIR / name).read_text() != text
    ]
    for name in stale:
        print(f"out of date: {PUBLISHED_DIR / name} (run: integrity schemas --write)", file=sys.stderr)
    return 1 if stale else 0
