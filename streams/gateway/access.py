"""Platforms' API keys: configured as SHA-256 hashes (``name:hex``), checked in constant time, never
logged or echoed. A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (HTTP), or in a
WebSocket's hello (a browser cannot set headers on a WebSocket)."""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = ["KeyBook", "hash_key", "key_from_headers"]

_HEX = re.compile(r"[0-9a-f]{64}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[len("bearer ") :].strip()
    return None


class KeyBook:
    """Platform name by key hash; ``open`` (no keys configured) lets every caller in as ``anonymous``."""

    def __init__(self, configured: str) -> None:
        self._platforms: dict[str, str] = {}
        for entry in filter(None, (part.strip() for part in configured.split(","))):
            name, _, digest = entry.partition(":")
            digest = digest.strip().lower().removeprefix("sha256:")
            if not name.strip() or not _HEX.fullmatch(digest):
                # The entry may be a key pasted by mistake: say where, never what.
                raise ValueError(
                    "INTEGRITY_GATEWAY_API_KEYS: each entry is name:sha256hex (64 hex digits, from "
                    f"`integrity gateway hash-key`); entry {len(self._platforms) + 1} is not"
                )
            self._platforms[digest] = name.strip()

    @property
    def open(self) -> bool:
        return not self._platforms

    def platform_of(self, key: str | None) -> str | None:
        """The platform ``key`` belongs to; None for a missing or unknown key (unless the book is open)."""
        if self.open:
            return "anonymous"
        if not key:
            return None
        digest = hash_key(key)
        found = None
        for known, name in self._platforms.items():  # every entry compared: no timing tells which matched
            if hmac.compare_digest(known, digest):
                found = name
        return found
