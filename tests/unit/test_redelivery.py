"""Answers kept until seen acknowledged (streams.redelivery)."""

from __future__ import annotations

import asyncio

import pytest

from streams.redelivery import AnswersOnTheirWay, answered_with, unconfirmed_answer


def answer(sequence: int) -> dict[str, int]:
    return {"frame_sequence": sequence, "score": sequence * 10}


def test_answered_keeps_the_newest_sequences():
    assert answered_with(list(range(300)), 300)[-2:] == [299, 300]
    assert len(answered_with(list(range(300)), 300)) == 256


def test_an_answer_leaves_the_kept_list_once_acknowledged():
    async def run() -> None:
        answers = AnswersOnTheirWay()
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        kept = answers.unconfirmed("s", [], answer(0), first)
        assert kept == [answer(0)]
        kept = answers.unconfirmed("s", kept, answer(1), second)
        assert kept == [answer(0), answer(1)]  # 0 still on its way
        first.set_result(None)
        await asyncio.sleep(0)
        third = loop.create_future()
        kept = answers.unconfirmed("s", kept, answer(2), third)
        assert kept == [answer(1), answer(2)]
        assert unconfirmed_answer(kept, 1) == answer(1) and unconfirmed_answer(kept, 0) is None

    asyncio.run(run())


def test_a_failed_answer_stays_kept_and_all_out_says_so():
    async def run() -> None:
        answers = AnswersOnTheirWay()
        failed = asyncio.get_running_loop().create_future()
        kept = answers.unconfirmed("s", [], answer(0), failed)
        failed.set_exception(OSError("broker gone"))
        await asyncio.sleep(0)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        assert answers.unconfirmed("s", kept, answer(1), done) == [answer(0), answer(1)]
        with pytest.raises(OSError):
            await answers.all_out("s")
        assert answers.failed("s") == {0}
        answers.sent_again("s", 0)  # its record came again: the kept answer went out
        assert answers.failed("s") == set() and not answers.to_send_again("s", 0)
        await answers.all_out("s")

    asyncio.run(run())


def test_answers_kept_by_a_previous_owner_leave_at_the_next_write():
    # Their records, had they been uncommitted, would have come again before this newer one.
    async def run() -> None:
        out = asyncio.get_running_loop().create_future()
        assert AnswersOnTheirWay().unconfirmed("s", [answer(4), answer(5)], answer(6), out) == [answer(6)]
        await AnswersOnTheirWay().all_out("s")  # nothing on its way: returns at once

    asyncio.run(run())


def test_an_answer_is_sent_again_only_when_not_seen_out():
    async def run() -> None:
        answers = AnswersOnTheirWay()
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        answers.unconfirmed("s", [], answer(0), first)
        answers.unconfirmed("s", [answer(0)], answer(1), second)
        assert not answers.to_send_again("s", 0)  # on its way (a producer's resend of the frame)
        first.set_result(None)
        second.set_exception(OSError("broker gone"))
        await asyncio.sleep(0)
        assert not answers.to_send_again("s", 0)  # seen out
        assert answers.to_send_again("s", 1)  # failed: its record comes again, and so does it
        assert AnswersOnTheirWay().to_send_again("s", 7)  # kept by a previous owner: not known here

    asyncio.run(run())
