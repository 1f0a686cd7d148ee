"""The gateway's pure parts: API keys, the frame-rate bucket, the bounded queues and session book."""

from __future__ import annotations

import asyncio

import pytest

from streams.gateway.access import KeyBook, hash_key, key_from_headers
from streams.gateway.limits import FrameRate
from streams.gateway.service import retry_after_header
from streams.gateway.sessions import SessionBook
from streams.kafka.follower import Subscription


def test_keys_are_checked_by_their_hash_and_never_echoed() -> None:
    book = KeyBook(f"acme:{hash_key('k1')}, globex:sha256:{hash_key('k2').upper()}")
    assert not book.open
    assert book.platform_of("k1") == "acme" and book.platform_of("k2") == "globex"
    assert book.platform_of("k3") is None and book.platform_of(None) is None and book.platform_of("") is None
    assert KeyBook("").platform_of(None) == "anonymous"
    with pytest.raises(ValueError) as refused:
        KeyBook(f"acme:{hash_key('k1')},globex:my-plain-secret-key")
    assert "entry 2" in str(refused.value) and "my-plain-secret-key" not in str(refused.value)


def test_a_key_comes_from_either_header() -> None:
    assert key_from_headers("Bearer abc ", None) == "abc"
    assert key_from_headers("bearer abc", "xyz") == "xyz"
    assert key_from_headers("Basic abc", None) is None


def test_the_rate_allows_a_burst_then_says_when_to_retry() -> None:
    rate = FrameRate(rate=4.0, burst=8, at=100.0)
    assert [rate.take(100.0) for _ in range(8)] == [0.0] * 8
    wait = rate.take(100.0)
    assert wait == pytest.approx(0.25)
    assert rate.take(100.25) == 0.0  # one frame's worth came back
    assert retry_after_header(0.25) == "1" and retry_after_header(1.2) == "2"


def test_a_subscription_that_is_not_read_overflows_instead_of_growing() -> None:
    subscription = Subscription("s", size=2)
    for sequence in range(5):
        subscription.offer("result", {"frame_sequence": sequence})
    assert subscription.queue.qsize() == 2 and subscription.overflowed.is_set()
    assert asyncio.run(subscription.queue.get())[1] == {"frame_sequence": 0}


def test_the_session_book_numbers_frames_and_forgets_the_oldest() -> None:
    book = SessionBook(size=2, rate=15.0, burst=30)
    first = book.start("s1", "acme", "c", "default", {})
    first.sent(0)
    first.sent(5)
    assert first.next_sequence == 6 and first.last_sequence == 5
    book.start("s2", "acme", "c", "default", {})
    book.start("s3", "acme", "c", "default", {})
    assert book.get("s1") is None and book.get("s3") is not None
