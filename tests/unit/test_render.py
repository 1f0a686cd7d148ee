"""What a person reads at the end of a session: the final report's block, with what the camera could not
judge when there was any."""

from __future__ import annotations

from streams.cli.render import format_report
from tests.unit.test_schemas import REPORT


def test_the_report_says_what_could_not_be_judged_only_when_something_could_not():
    text = format_report(REPORT)
    assert text.startswith("FINAL REPORT s1 (expired, policy default@2): REVIEW (confidence 0.70")
    assert text.splitlines()[-1] == "  could not judge: 42.0 s (7% of the session): low_light 30.0 s, frame_gap 12.0 s"
    clear = format_report(REPORT | {"unassessable_s": 0.0, "unassessable_share": 0.0, "quality_s": {}})
    assert "could not judge" not in clear and clear.splitlines()[-1].startswith("  strongest evidence (UTC): ")
