"""A session's printable report (streams.web.report_page): the SVG timeline and the HTML page drawn from a
session's view, without a server. No script, no image; every text from a session or a reviewer escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace

from streams.risk.policy import POLICY_DIR, load_policy
from streams.web.report_page import clock, offset, report_html, timeline_svg, tint

T0 = 1_764_000_000_000  # 2025-11-24 16:00:00 UTC
SESSION = "s-<42>&"
EVENT = f"{SESSION}:multiple_faces:{T0 + 4000}"
POLICY = replace(load_policy(POLICY_DIR / "default.yaml"), version=7)  # the book's version now


def ended_view(**changes):
    view = {
        "session_id": SESSION,
        "candidate_id": "alice",
        "status": "ended",
        "policy": "default",
        "frames": 50,
        "final_report": {
            "policy": "default@1",
            "verdict": "review",
            "cheating": False,
            "confidence": 0.8,
            "final_risk_score": 40.2,
            "peak_risk_score": 62.1,
            "mean_risk_score": 20.0,
            "attention": 88.0,
            "frames": 50,
            "observed_s": 10.0,
            "reason": "ended",
            "reported_at_ms": T0 + 12_000,
            "started_at_ms": T0 - 500,
            "ended_at_ms": T0 + 9_800,
            "time_in_ms": {"multiple_faces": 4000},
            "evidence": [
                {"type": "multiple_faces", "started_at_ms": T0 + 4000, "ended_at_ms": T0 + 8000, "evidence": 3.2}
            ],
            "reasons": [{"event_type": "multiple_faces", "share": 1.0}],
            "unassessable_s": 1.5,
            "unassessable_share": 0.15,
            "quality_s": {"low_light": 1.5, "blurred": 0.0},
        },
        "timeline": {"points": [[T0 + i * 200, min(100.0, i * 1.5), 90.0] for i in range(50)]},
        "behaviours": {
            EVENT: {"type": "multiple_faces", "start": T0 + 4000, "end": T0 + 8000, "until": None, "seen": T0 + 8000}
        },
        "reviews": [
            {
                "session_id": SESSION,
                "review_id": "r1",
                "decision": "confirmed",
                "event_id": EVENT,
                "behaviour": "multiple_faces",
                "started_at_ms": T0 + 4000,
                "ended_at_ms": T0 + 8000,
                "policy": "default@1",
                "reviewer": "ana",
                "note": "<script>alert('x')</script> a second person",
                "at_ms": T0 + 20_000,
            }
        ],
    }
    return view | changes


def page_of(view, policy=POLICY):
    reasons = (view.get("final_report") or {}).get("reasons", [])
    return report_html(view, reasons, policy, T0 + 30_000, worker="w1:6066")


def test_times_read_from_the_first_frame_and_on_a_utc_clock():
    assert offset(T0 + 65_400, T0) == "1:05" and offset(T0 + 3_723_000, T0) == "1:02:03"
    assert offset(T0 - 5000, T0) == "0:00"
    assert clock(T0) == "16:00:00" and clock(None) == "\u2013"
    assert tint("face_absent") == tint("face_absent") and tint("multiple_faces").startswith("#")


def test_the_timeline_is_an_svg_of_its_points_bands_thresholds_and_reviews():
    points = [[T0, 10.0, 100.0], [T0 + 5000, 70.0, 50.0], [T0 + 10_000, 20.0, 90.0]]
    marks = [{"started_at_ms": T0 + 2000, "ended_at_ms": T0 + 6000, "decision": "dismissed", "reviewer": "<b>"}]
    svg = timeline_svg(points, [("face_absent", T0 + 1000, T0 + 4000)], [("flagged", 60, "#c62828")], marks, T0)
    root = ET.fromstring(svg)  # well-formed, so it also stands alone
    ns = {"s": "http://www.w3.org/2000/svg"}
    risk = root.find(".//s:polyline[@class='risk']", ns)
    attention = root.find(".//s:polyline[@class='attention']", ns)
    assert risk is not None and attention is not None
    xs_ys = [tuple(map(float, pair.split(","))) for pair in risk.attrib["points"].split()]
    assert len(xs_ys) == 3 and xs_ys[0][0] < xs_ys[1][0] < xs_ys[2][0]
    assert xs_ys[1][1] < xs_ys[0][1]  # higher risk is drawn higher up
    band = root.find(".//s:rect[@class='band']", ns)
    assert band is not None and band.attrib["data-type"] == "face_absent"
    assert root.find(".//s:rect[@class='review']", ns) is not None
    texts = "".join(root.itertext())
    assert "flagged ≥ 60" in texts and "face absent" in texts and "0:10" in texts
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def test_a_session_with_no_frame_scored_still_gets_an_svg():
    svg = timeline_svg([])
    assert svg.startswith("<svg") and "no frame scored" in svg
    ET.fromstring(svg)


def test_the_page_holds_the_figures_reasons_quality_reviews_and_policy_and_no_image_or_script():
    page = page_of(ended_view())
    assert page.startswith("<!doctype html>") and "@page { size: A4" in page
    assert "<svg" in page and "<img" not in page and "base64" not in page and "data:" not in page
    assert "<script" not in page and "&lt;script&gt;" in page  # the reviewer's note, escaped
    assert "Session s-&lt;42&gt;&amp;" in page  # the session id, escaped
    for text in ("default@1", "review at", "flagged at", "62", "88", '<span class="verdict review">review</span>'):
        assert text in page
    assert "(cheating)" not in page
    # The reason with its share, how long it held, when (from the first frame and on the clock) and its evidence.
    assert "multiple faces" in page and "100%" in page and "4.0 s" in page
    assert "0:04\u20130:08 (16:00:04\u201316:00:08, 4.0 s)" in page and "3.20 over" in page
    # Capture quality: the unassessable time and its share, each problem with time (none without).
    assert "1.5 s" in page and "15%" in page and "low light" in page and "blurred" not in page
    # Reviews: who, what, when.
    assert "ana" in page and "confirmed" in page and "2025-11-24 16:00:20 UTC" in page
    # The book's version is not the one that judged it: the page says so.
    assert "of default@7, the version this worker reads now; the session was judged by default@1" in page


def test_a_live_session_shows_its_figures_so_far():
    live = {
        "session_id": "live-1",
        "candidate_id": "bob",
        "status": "active",
        "policy": "default",
        "frames": 12,
        "last_score": 33.3,
        "peak_score": 40.0,
        "attention": 0.75,
        "observed_s": 2.4,
        "last_verdict": "review",
        "quality_s": {"frozen_frame": 0.4},
        "unassessable_s": 0.4,
        "timeline": {"points": [[T0, 0.0, 100.0], [T0 + 2400, 33.3, 75.0]]},
        "behaviours": {f"live-1:face_absent:{T0 + 400}": {"type": "face_absent", "start": T0 + 400, "end": None,
                                                              "until": T0 + 2400, "seen": T0 + 2400}},
        "reviews": [],
    }  # fmt: skip
    page = report_html(live, [{"event_type": "face_absent", "share": 1.0}], POLICY, T0 + 3000)
    assert "verdict so far" in page and "33" in page and "75" in page and POLICY.id in page
    assert "no review yet" in page and "frozen frame" in page and "17%" in page
    assert "face absent" in page and "0:00\u20130:02" in page


def test_a_forgotten_session_still_lists_its_reviews():
    view = {"session_id": "old-1", "forgotten": True, "reviews": ended_view()["reviews"]}
    page = report_html(view, [], None, T0 + 3000)
    assert "forgotten" in page and "ana" in page and "no figures" in page
    assert len(re.findall("<svg", page)) == 1 and 'class="review"' in page  # its reviewed range, no line
    assert "<polyline" not in page


def test_the_report_command_says_what_it_needs(tmp_path, monkeypatch, capsys):
    from streams.cli.main import main
    from streams.cli.report import pages_in

    assert main(["report", "s-1"]) == 2
    assert "--pdf FILE, --html FILE" in capsys.readouterr().err
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium to find there
    assert main(["report", "s-1", "--pdf", str(tmp_path / "r.pdf")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no chromium" in err and "--html" in err
    assert not (tmp_path / "r.pdf").exists()
    pdf = b"%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>>\n2 0 obj <</Type /Page /Parent 1 0 R>>\n3 0 obj <</Type/Page>>"
    assert pages_in(pdf) == 2
