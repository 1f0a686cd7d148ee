"""The Postman collection is made from the gateway's own OpenAPI schema: every operation in it, bodies
and path variables as Postman expects them, the key as the collection's auth."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from streams.gateway.app import create_app
from streams.gateway.postman import collection_from_openapi, example
from streams.settings import load_settings


@pytest.fixture(scope="module")
def spec() -> dict:
    return create_app(load_settings()).openapi()


def requests_of(collection: dict) -> dict[str, dict]:
    return {item["name"]: item["request"] for folder in collection["item"] for item in folder["item"]}


def test_every_operation_becomes_a_request(spec):
    collection = collection_from_openapi(spec, base_url="http://gw:9000")
    operations = {f"{m.upper()} {path}" for path, entry in spec["paths"].items() for m in entry}
    requests = requests_of(collection)
    assert set(requests) == operations
    assert "POST /sessions/{session_id}/frames" in requests and "POST /analyze-frame" in requests
    assert collection["info"]["schema"].endswith("/v2.1.0/collection.json")
    assert {v["key"]: v["value"] for v in collection["variable"]} == {"baseUrl": "http://gw:9000", "apiKey": ""}
    assert collection["auth"]["bearer"][0]["value"] == "{{apiKey}}"
    # The key is the collection's auth, never a header to fill on each request.
    for request in requests.values():
        assert not {h["key"].lower() for h in request["header"]} & {"authorization", "x-api-key"}


def test_bodies_paths_and_queries(spec):
    requests = requests_of(collection_from_openapi(spec))
    frame = requests["POST /sessions/{session_id}/frames"]
    assert frame["url"]["raw"] == "{{baseUrl}}/sessions/:session_id/frames"
    assert [v["key"] for v in frame["url"]["variable"]] == ["session_id"]
    assert frame["body"]["mode"] == "file"
    assert {"key": "Content-Type", "value": "image/jpeg"} in frame["header"]
    assert [q["key"] for q in frame["url"]["query"]] == ["wait"]
    assert "429" in frame["description"] and "Retry-After" in frame["description"]

    start = requests["POST /sessions"]
    assert start["body"]["mode"] == "raw"
    assert set(json.loads(start["body"]["raw"])) == {"session_id", "candidate_id", "policy", "metadata"}
    seed_frame = requests["POST /analyze-frame"]
    assert seed_frame["body"]["mode"] == "file"  # an image first; the seed's JSON is in the schema too
    assert "body" not in requests["GET /health"]


def test_examples_follow_the_schema():
    spec = {"components": {"schemas": {"A": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/components/schemas/A"},
            "b": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            "c": {"type": "array", "items": {"type": "boolean"}},
            "d": {"type": "string", "default": "x"},
        },
    }
    assert example(spec, schema) == {"a": {"n": 0}, "b": "", "c": [False], "d": "x"}


def test_the_command_writes_the_same_collection_twice(tmp_path, spec):
    out = tmp_path / "gateway.postman_collection.json"
    command = [sys.executable, "-m", "streams.cli", "gateway", "postman", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout == ""  # the file is the output; stderr says where it went
    assert "requests" in done.stderr
    written = json.loads(out.read_text())
    assert written == collection_from_openapi(spec, base_url=written["variable"][0]["value"])
    again = subprocess.run(command[:-2], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(again.stdout) == written  # the same ids: a regenerated collection diffs cleanly
