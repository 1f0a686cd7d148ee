"""Who may open the web views (streams.web.access): the logic, without a server."""

from __future__ import annotations

from streams.web.access import COOKIE, allowed, forwarded_credentials

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
