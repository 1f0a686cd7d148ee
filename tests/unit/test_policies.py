"""Policies without restarts, without a broker: the validation every policy file and published policy passes,
the book's merge rules (versions never change, a refused record changes nothing, a name means its newest
version), sessions keeping the version they started with, and `integrity policy publish` refusing an
invalid file before it reaches the broker."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml

from schemas.records import SessionControl, new_session_control
from streams.cli.main import main
from streams.kafka.policies import take_record
from streams.risk import PolicyBook, RiskEngine, SessionState
from streams.risk.policy import POLICY_DIR, InvalidPolicy, RiskPolicy, UnknownPolicy, load_policy, policy_from_text
from tests.helpers.frames import observation_record

START = 1_800_000_000_000
DEFAULT_TEXT = (POLICY_DIR / "default.yaml").read_text()


def document(**changes: object) -> str:
    """The default policy's document with ``changes`` (None: the key taken out), as YAML."""
    data = yaml.safe_load(DEFAULT_TEXT)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return yaml.safe_dump(data)


def start(session_id: str, policy: str = "") -> SessionControl:
    return new_session_control(session_id, "start", "c", policy=policy, at_ms=START, source="test")


# -- validation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(POLICY_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_policy_validates_and_reads_back_as_published_text(path):
    policy = load_policy(path)
    assert policy.name == path.stem and policy.version >= 1
    assert policy_from_text(path.read_text()) == policy


def test_a_json_document_is_a_policy_too():
    data = yaml.safe_load(DEFAULT_TEXT) | {"name": "from-json", "version": 4}
    policy = policy_from_text(json.dumps(data))
    assert policy.id == "from-json@4"
    assert dataclasses.replace(policy, name="default", version=2) == policy_from_text(DEFAULT_TEXT)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("review_at: [1,\n", "not YAML or JSON"),
        ("- just\n- a list\n", "a policy is a mapping of policy keys, not list"),
        (document(name=None), "name is None"),
        (document(name="bad@name"), "name is 'bad@name'"),
        (document(version=None), "version is None"),
        (document(version=0), "version is 0"),
        (document(version="3"), "version is '3'"),
        (document(version=True), "version is True"),
        (document(score_scale=0), "score_scale is 0, not above 0"),
        (document(review_at="high"), "review_at is 'high', not a finite number"),
        (document(flagged_at=101.0), "flagged_at is 101.0, above 100"),
        (document(review_at=70.0), "review_at (70.0) is above flagged_at (60.0)"),
        (document(lateness_s=-1), "lateness_s is -1, under 0"),
        (document(max_unassessable_share=1.5), "max_unassessable_share is 1.5, above 1"),
        (document(recent_events=-2), "recent_events is -2"),
        (document(low_confidence="low_visibility"), "low_confidence is not a list of condition names"),
        (document(behavours={}), "unknown policy keys: behavours"),
        (document(behaviours={"Phone Visible": {"rate": 1, "half_life_s": 3}}), "behaviour 'Phone Visible' is not"),
        (document(behaviours={"phone_visible": {"rate": 1, "half_life_s": 0}}), "half_life_s is 0, not above 0"),
        (document(behaviours={"phone_visible": {"rate": -1, "half_life_s": 3}}), "rate is -1, under 0"),
        (document(behaviours={"phone_visible": {"rate": 1, "half_lif_s": 3}}), "unknown keys half_lif_s"),
        (document(behaviours={"phone_visible": {"rate": 1}}), "rate and half_life_s are required"),
        (document(behaviours={"phone_visible": 3}), "behaviours.phone_visible is not a mapping"),
        (document(behaviours=[1]), "behaviours is not a mapping"),
    ],
)
def test_an_invalid_document_is_refused_with_the_reason(text, reason):
    with pytest.raises(InvalidPolicy) as refused:
        policy_from_text(text)
    assert reason in str(refused.value)


def test_a_policy_file_that_does_not_validate_names_its_path(tmp_path):
    (tmp_path / "default.yaml").write_text(document(review_at=90.0))
    with pytest.raises(InvalidPolicy, match=r"default\.yaml: review_at \(90\.0\) is above flagged_at"):
        PolicyBook(tmp_path)


# -- the book --------------------------------------------------------------------------------------------


def test_a_new_version_becomes_the_newest_and_the_old_one_stays():
    book = PolicyBook()
    old = book.get("default")
    newer = dataclasses.replace(old, version=old.version + 1, flagged_at=50.0)
    assert book.add(newer) is True
    assert book.get("default") == newer and book.get("default", old.version) == old
    assert book.get(old.id) == old and book.get(newer.id) == newer
    assert old.id in book and newer.id in book and "default" in book and "default@99" not in book
    # An older version arriving later is kept for its sessions, and does not become the newest.
    older = dataclasses.replace(old, version=1, flagged_at=70.0)
    assert book.add(older) is True
    assert book.get("default") == newer and book.get("default@1") == older


def test_the_same_version_again_changes_nothing_and_other_content_is_refused():
    book = PolicyBook()
    strict = book.get("strict")
    assert book.add(dataclasses.replace(strict)) is False
    changed = dataclasses.replace(strict, flagged_at=strict.flagged_at + 5)
    with pytest.raises(InvalidPolicy, match=r"strict@2 is known with other content.*publish it as version 3"):
        book.add(changed)
    assert book.get("strict") == strict and book.get("strict@2") == strict


def test_unknown_versions_and_names_fall_back_loudly(caplog):
    book = PolicyBook()
    assert book.get("strict@7") == book.get("strict")
    assert book.get("strict", 7) == book.get("strict")
    assert book.get("nope") == book.get("default") == book.get(None) == book.get("nope@3")
    # Once per version: a session pinned to one this worker lacks asks on every frame.
    assert caplog.text.count("unknown version 7 of risk policy 'strict'") == 1
    assert "unknown risk policy 'nope'" in caplog.text


def test_the_default_may_arrive_later(tmp_path):
    (tmp_path / "strict.yaml").write_text((POLICY_DIR / "strict.yaml").read_text())
    with pytest.raises(FileNotFoundError):
        PolicyBook(tmp_path, "house")
    book = PolicyBook(tmp_path, "house", require_default=False)
    with pytest.raises(UnknownPolicy, match="no risk policy 'house'"):
        book.get(None)
    assert book.get("strict").name == "strict"
    house = policy_from_text(document(name="house", version=1))
    assert take_record(book, b"house@1", document(name="house", version=1).encode()).policy == house
    assert book.get(None) == house and book.get("nope") == house
    assert list(book) == ["house", "strict"] and len(book) == 2


def test_a_book_of_policies_at_hand():
    a, b = RiskPolicy(name="a"), RiskPolicy(name="b", version=3)
    book = PolicyBook.of(a, b)
    assert book.default == "a" and book.get(None) == a and book.get("b@3") == b


# -- records of the policies topic -----------------------------------------------------------------------


def test_a_record_is_taken_once_and_its_copies_change_nothing():
    book = PolicyBook()
    text = document(name="default", version=3, flagged_at=55.0).encode()
    first = take_record(book, b"default@3", text)
    assert first.reason is None and first.new and first.policy is not None and first.policy.id == "default@3"
    again = take_record(book, b"default@3", text)
    assert again.reason is None and not again.new and again.policy == first.policy
    # The shipped file itself, published: known already, the same.
    assert take_record(book, b"strict@2", (POLICY_DIR / "strict.yaml").read_bytes()).new is False


@pytest.mark.parametrize(
    "key, value, reason",
    [
        (b"default@3", None, "no policy record: the value of 'default@3' is null"),
        (b"default@3", b"\xff\xfe", "invalid policy 'default@3': the document is not UTF-8 text"),
        (b"default@3", document(version=3, review_at=80.0).encode(), "invalid policy 'default@3': review_at (80.0)"),
        (b"default@4", document(version=3).encode(), "the key is not the document's name@version (default@3)"),
        (None, document(version=3).encode(), "invalid policy None: the key is not"),
        (b"default@2", document(flagged_at=50.0).encode(), "policy version conflict: default@2 is known with other"),
    ],
)
def test_a_refused_record_says_why_and_never_replaces_a_good_policy(key, value, reason):
    book = PolicyBook()
    before = dict(book.versions), dict(book.policies)
    taken = take_record(book, key, value)
    assert taken.policy is None and taken.reason is not None and reason in taken.reason, taken.reason
    assert (book.versions, book.policies) == before


def test_a_conflicting_record_after_a_good_one_leaves_the_good_one():
    book = PolicyBook()
    good = take_record(book, b"default@3", document(version=3, flagged_at=55.0).encode())
    bad = take_record(book, b"default@3", document(version=3, flagged_at=45.0).encode())
    assert bad.reason and "default@3 is known with other content" in bad.reason
    assert book.get("default") == good.policy and book.get("default").flagged_at == 55.0


# -- sessions keep their version -------------------------------------------------------------------------


def _score(engine: RiskEngine, state: SessionState | None, session_id: str, sequence: int) -> tuple[SessionState, str]:
    observation = observation_record(session_id, sequence, START + sequence * 200)
    state, result = engine.apply(state, observation, now_ms=START + sequence * 200)
    return state, result["policy"]


def test_a_session_keeps_the_version_it_started_with_and_new_ones_get_the_newest():
    book = PolicyBook()
    engine = RiskEngine(book)
    before = engine.start(None, start("before", "interview"))
    before, used = _score(engine, before, "before", 0)
    assert used == "interview@2" and (before.policy, before.policy_version) == ("interview", 2)

    take_record(book, b"interview@3", document(name="interview", version=3, flagged_at=40.0).encode())
    after = engine.start(None, start("after", "interview"))
    after, used_after = _score(engine, after, "after", 0)
    before, used_before = _score(engine, before, "before", 1)
    assert (used_before, used_after) == ("interview@2", "interview@3")
    # A start again (or redelivered) changes no version; a version asked for by name@version is that one.
    assert engine.start(before, start("before", "interview")).policy_version == 2
    assert engine.start(None, start("pinned", "interview@2")).policy_version == 2
    # The state survives the table (JSON) with its version.
    restored = SessionState.from_dict(json.loads(json.dumps(before.to_dict())))
    assert engine.policy_for(restored).id == "interview@2"


def test_a_state_written_before_versions_were_kept_gets_the_newest():
    engine = RiskEngine()
    legacy = {k: v for k, v in SessionState("old", "c", "strict").to_dict().items() if k != "policy_version"}
    assert engine.policy_for(SessionState.from_dict(legacy)).id == "strict@2"


def test_a_session_without_a_start_is_pinned_to_the_default_of_its_first_frame():
    book = PolicyBook()
    engine = RiskEngine(book)
    state, used = _score(engine, None, "early", 0)
    take_record(book, b"default@3", document(version=3, flagged_at=45.0).encode())
    state = engine.start(state, start("early"))  # its start, after its first frame: names no policy
    state, used_later = _score(engine, state, "early", 1)
    assert used == used_later == "default@2"


# -- the command -----------------------------------------------------------------------------------------


def test_publish_refuses_an_invalid_file_with_the_reason_before_any_broker(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")  # nothing listens: never reached
    path = tmp_path / "house.yaml"
    path.write_text(document(name="house", version=1, review_at=75.0))
    assert main(["policy", "publish", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("integrity policy publish: ") and "review_at (75.0) is above flagged_at (60.0)" in err
    assert main(["policy", "publish", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_calibrated_policy_file_is_a_valid_document():
    # What `integrity calibrate` writes (streams.offline.calibration.policy_yaml) is what publish takes.
    from streams.offline.calibration import policy_yaml

    policy = dataclasses.replace(PolicyBook().get("default"), name="default-cal1", version=1, flagged_at=35.0)
    assert policy_from_text(policy_yaml(policy)) == policy
