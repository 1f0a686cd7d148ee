"""The contracts as outside users load them: one self-contained ``.avsc`` per top-level record type.

The source files in ``schemas/`` reference each other by name, so Apache ``avro``, Java's parser and
others must read them in dependency order (``loading_order``). The published files under
``schemas/published/`` need no order: every named type is defined inline at its first use. They are
generated from the sources (``integrity schemas --write``) and a test fails when they are out of date.
Writing them also files each published version that changed into ``schemas/history/`` under its
fingerprint, so workers keep reading records written with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastavro.schema import parse_schema

from schemas import HISTORY_DIR, NAMESPACE, SCHEMA_DIR, codec_for, schema_fingerprint

__all__ = ["PUBLISHED_DIR", "TOP_LEVEL", "loading_order", "published_files", "standalone", "write_published"]

PUBLISHED_DIR = SCHEMA_DIR / "published"
# The records that travel on a topic, as opposed to the types nested inside them.
TOP_LEVEL = ("Frame", "SessionControl", "Observation", "Result", "FinalReport", "DeadLetter", "Review")


_KEY_ORDER = ("name", "type", "doc", "symbols", "items", "values", "default", "fields")


def _clean(schema: Any) -> Any:
    """fastavro's parsed schema without its private keys, its keys in one fixed, readable order."""
    if isinstance(schema, dict):
        keys = [k for k in schema if not k.startswith("__")]
        keys.sort(key=lambda k: (_KEY_ORDER.index(k) if k in _KEY_ORDER else len(_KEY_ORDER), k))
        return {k: _clean(schema[k]) for k in keys}
    if isinstance(schema, list):
        return [_clean(item) for item in schema]
    return schema


def standalone(name: str) -> dict[str, Any]:
    """Record ``name`` with every named type it uses defined inline at its first use."""
    cleaned: dict[str, Any] = _clean(codec_for(name).schema)
    return cleaned


def published_files() -> dict[str, str]:
    """File name -> text of every published schema."""
    return {f"{NAMESPACE}.{name}.avsc": json.dumps(standalone(name), indent=2) + "\n" for name in TOP_LEVEL}


def write_published() -> list[Path]:
    """Write the published schemas; a published version that changes is first filed into the history.

    Returns the history files written."""
    PUBLISHED_DIR.mkdir(exist_ok=True)
    HISTORY_DIR.mkdir(exist_ok=True)
    archived = []
    for name, text in published_files().items():
        path = PUBLISHED_DIR / name
        if path.is_file():
            old = schema_fingerprint(parse_schema(json.loads(path.read_text()), named_schemas={}))
            if old != schema_fingerprint(parse_schema(json.loads(text), named_schemas={})):
                archived.append(HISTORY_DIR / f"{name.removesuffix('.avsc')}.{old.hex()}.avsc")
                archived[-1].write_text(path.read_text())
        path.write_text(text)
    return archived


def _references(schema: Any) -> set[str]:
    if isinstance(schema, str):
        return {schema} if schema.startswith(f"{NAMESPACE}.") else set()
    if isinstance(schema, list):
        return set().union(*(_references(item) for item in schema)) if schema else set()
    if isinstance(schema, dict):
        found = set()
        for key, value in schema.items():
            if key in {"type", "items", "values", "fields"} or isinstance(value, list | dict):
                found |= _references(value)
        return found
    return set()


def loading_order(folder: Path = SCHEMA_DIR) -> list[str]:
    """The source files in an order in which each one's references are already loaded."""
    sources = {path.name.removesuffix(".avsc"): json.loads(path.read_text()) for path in folder.glob("*.avsc")}
    needs = {name: _references(schema) & set(sources) for name, schema in sources.items()}
    order: list[str] = []
    while needs:
        ready = sorted(name for name, wanted in needs.items() if wanted <= set(order))
        if not ready:
            raise ValueError(f"circular references among {sorted(needs)}")
        order += ready
        for name in ready:
            del needs[name]
    return [f"{name}.avsc" for name in order]
