"""Who may open the web views and who signs a review made in the page (streams.web.access): the logic,
without a server."""

from __future__ import annotations

import hashlib

from streams.web.access import COOKIE, allowed, cross_site_refusal, forwarded_credentials, reviewer_named, reviewer_of

TOKEN = "s3cret-token"


def test_no_token_configured_means_open():
    assert allowed("views", {}, {}, "", "")


def test_the_token_opens_views_by_header_or_cookie_and_nothing_else_does():
    assert allowed("views", {"Authorization": f"Bearer {TOKEN}"}, {}, TOKEN, "health,metrics")
    assert allowed("views", {}, {COOKIE: TOKEN}, TOKEN, "health,metrics")
    assert not allowed("views", {}, {}, TOKEN, "health,metrics")
    assert not allowed("views", {"Authorization": "Bearer wrong"}, {}, TOKEN, "health,metrics")
    assert not allowed("views", {"Authorization": TOKEN}, {}, TOKEN, "health,metrics")  # not a Bearer header
    assert not allowed("views", {}, {COOKIE: ""}, TOKEN, "health,metrics")


def test_health_and_metrics_open_by_configuration():
    assert allowed("health", {}, {}, TOKEN, "health,metrics")
    assert allowed("metrics", {}, {}, TOKEN, "health, metrics")
    assert not allowed("metrics", {}, {}, TOKEN, "health")
    assert not allowed("health", {}, {}, TOKEN, "")


def test_a_worker_asking_another_passes_the_users_credentials_on():
    headers = {"Authorization": f"Bearer {TOKEN}", "Cookie": f"{COOKIE}={TOKEN}", "Host": "a", "Accept": "*/*"}
    assert forwarded_credentials(headers) == {"Authorization": f"Bearer {TOKEN}", "Cookie": f"{COOKIE}={TOKEN}"}


# -- reviewers: who signs a review made in the page -----------------------------------------------------

REVIEWERS = {"ana": "ana-token-1", "ben": "sha256:" + hashlib.sha256(b"ben-token-2").hexdigest()}


def test_a_reviewers_token_opens_the_views_as_the_shared_one_does():
    assert allowed("views", {"Authorization": "Bearer ana-token-1"}, {}, TOKEN, "", REVIEWERS)
    assert allowed("views", {}, {COOKIE: "ben-token-2"}, TOKEN, "", REVIEWERS)  # given as its digest
    assert allowed("views", {}, {COOKIE: "ana-token-1"}, "", "", REVIEWERS)  # reviewers alone close the views
    assert not allowed("views", {}, {}, "", "", REVIEWERS)
    assert not allowed("views", {}, {COOKIE: "sha256:" + hashlib.sha256(b"ben-token-2").hexdigest()}, "", "", REVIEWERS)
    assert allowed("views", {}, {COOKIE: TOKEN}, TOKEN, "", REVIEWERS)


def test_a_review_is_signed_by_the_name_of_its_token_and_the_shared_token_names_no_one():
    def who(headers, cookies, remote="10.0.0.5", token=TOKEN, reviewers=REVIEWERS):
        return reviewer_of(headers, cookies, remote, token, reviewers, "osuser")

    assert who({"Authorization": "Bearer ana-token-1"}, {}).name == "ana"
    assert who({}, {COOKIE: "ben-token-2"}).name == "ben"
    shared = who({}, {COOKIE: TOKEN})
    assert shared.name is None and "INTEGRITY_WEB_REVIEWERS" in shared.why_not
    assert who({}, {COOKIE: TOKEN}, reviewers={}).name is None  # only the shared token configured
    assert who({}, {}).name is None
    assert reviewer_named("", {"x": ""}) is None
    # No token at all: from this machine, the worker's OS user; from elsewhere, no one.
    local = who({}, {}, remote="127.0.0.1", token="", reviewers={})
    assert local.name == "osuser" and "no token" in local.how
    assert who({}, {}, remote="10.0.0.5", token="", reviewers={}).name is None


def test_a_change_made_with_the_cookie_must_come_from_the_workers_own_page():
    page = {"Host": "127.0.0.1:6066", "Origin": "http://127.0.0.1:6066", "Cookie": f"{COOKIE}=x"}
    assert cross_site_refusal(page, open_views=False) is None
    assert "another site" in str(cross_site_refusal(page | {"Origin": "https://evil.example"}, open_views=False))
    assert "Origin" in str(cross_site_refusal({"Host": "127.0.0.1:6066"}, open_views=False))
    # A script or CLI with the token in its header: not a browser's doing.
    assert cross_site_refusal({"Host": "w:6066", "Authorization": "Bearer t"}, open_views=False) is None
    # Behind a TLS proxy the scheme differs; the host is what must match.
    assert cross_site_refusal({"Host": "rev.example", "Origin": "https://rev.example"}, open_views=False) is None


def test_open_views_take_changes_from_a_loopback_host_only():
    own = {"Host": "localhost:6066", "Origin": "http://localhost:6066"}
    assert cross_site_refusal(own, open_views=True) is None
    # A name of another site's rebound to 127.0.0.1 matches its own origin, and is still refused.
    rebound = {"Host": "evil.example:6066", "Origin": "http://evil.example:6066"}
    assert "this machine" in str(cross_site_refusal(rebound, open_views=True))
    # Open views: a header proves nothing either (no token to check).
    assert cross_site_refusal({"Host": "127.0.0.1:6066", "Authorization": "Bearer x"}, open_views=True)
