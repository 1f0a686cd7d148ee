"""A Postman collection (format v2.1) made from the gateway's OpenAPI schema, so that it never drifts from
the API: ``integrity gateway postman > integrity-gateway.postman_collection.json``.

The API key is the collection's bearer auth (``{{apiKey}}``) rather than a header on each request, and
the address is ``{{baseUrl}}``: both are collection variables to set once in Postman. Request bodies
are examples built from their schemas; a frame's body is a file to pick (an image).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

__all__ = ["collection_from_openapi"]

SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
# Headers that the collection's auth sends for every request.
AUTH_HEADERS = {"authorization", "x-api-key"}
METHODS = ("get", "post", "put", "patch", "delete")
# One fixed namespace: the same schema gives the same ids, so a regenerated collection diffs cleanly.
ID_NAMESPACE = uuid.UUID("8a6f3b52-5d7e-4c1e-9a43-2f0c7a1d9e10")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return _resolve(spec, node)


def example(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A value of the schema's shape: its example or default where it has one, else a placeholder."""
    schema = _resolve(spec, schema)
    for key in ("example", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if "anyOf" in schema or "oneOf" in schema:
        options = [s for s in schema.get("anyOf", schema.get("oneOf", [])) if _resolve(spec, s).get("type") != "null"]
        return example(spec, options[0], depth) if options else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {name: example(spec, sub, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(spec, schema.get("items", {}), depth + 1)]
    placeholders: dict[str, Any] = {"string": "", "integer": 0, "number": 0.0, "boolean": False}
    return placeholders.get(str(kind))


def _url(path: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    # OpenAPI's {session_id} is Postman's :session_id, a path variable with its own value.
    segments = [s for s in path.strip("/").split("/") if s]
    postman_path = [f":{s[1:-1]}" if s.startswith("{") and s.endswith("}") else s for s in segments]
    raw = "{{baseUrl}}/" + "/".join(postman_path)
    query = [
        {"key": p["name"], "value": "", "description": p.get("description", ""), "disabled": not p.get("required")}
        for p in parameters
        if p.get("in") == "query"
    ]
    variables = [
        {"key": p["name"], "value": f"<{p['name']}>", "description": p.get("description", "")}
        for p in parameters
        if p.get("in") == "path"
    ]
    url: dict[str, Any] = {"raw": raw, "host": ["{{baseUrl}}"], "path": postman_path}
    if query:
        url["query"] = query
    if variables:
        url["variable"] = variables
    return url


def _body(spec: dict[str, Any], operation: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The request's body and the Content-Type header it needs."""
    content = operation.get("requestBody", {}).get("content", {})
    for media in content:
        if media.startswith("image/"):  # the first image type: a file to choose in Postman
            header = [{"key": "Content-Type", "value": media}]
            return {"mode": "file", "file": {"src": ""}}, header
    if "application/json" in content:
        body = example(spec, content["application/json"].get("schema", {}))
        raw = {"mode": "raw", "raw": json.dumps(body, indent=2), "options": {"raw": {"language": "json"}}}
        return raw, [{"key": "Content-Type", "value": "application/json"}]
    return None, []


def _request_item(spec: dict[str, Any], path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    parameters = [_resolve(spec, p) for p in operation.get("parameters", [])]
    headers = [
        {"key": p["name"], "value": "", "description": p.get("description", "")}
        for p in parameters
        if p.get("in") == "header" and p["name"].lower() not in AUTH_HEADERS
    ]
    body, body_headers = _body(spec, operation)
    responses = operation.get("responses", {})
    answers = "\n".join(f"- {code}: {r.get('description', '')}" for code, r in responses.items())
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": body_headers + headers,
        "url": _url(path, parameters),
        "description": (operation.get("description") or operation.get("summary") or "")
        + (f"\n\nAnswers:\n{answers}" if answers else ""),
    }
    if body is not None:
        request["body"] = body
    name = f"{method.upper()} {path}"
    return {"id": str(uuid.uuid5(ID_NAMESPACE, name)), "name": name, "request": request, "response": []}


def _folder(path: str) -> str:
    # The resource paths under "sessions", the seed's flat paths under "seed API", the rest by their name.
    first = path.strip("/").split("/")[0]
    if first in {"start-session", "analyze-frame", "end-session"}:
        return "seed API"
    return first or "root"


def collection_from_openapi(spec: dict[str, Any], base_url: str = "http://localhost:8080") -> dict[str, Any]:
    """The Postman collection of every operation in ``spec`` (an OpenAPI 3 document as a dict)."""
    folders: dict[str, list[dict[str, Any]]] = {}
    for path, entry in spec.get("paths", {}).items():
        for method in METHODS:
            if method in entry:
                folders.setdefault(_folder(path), []).append(_request_item(spec, path, method, entry[method]))
    info = spec.get("info", {})
    title = info.get("title", "API")
    return {
        "info": {
            "_postman_id": str(uuid.uuid5(ID_NAMESPACE, title)),
            "name": title,
            "description": (
                f"{info.get('description') or title} API version {info.get('version', '')}. Generated from the "
                "gateway's OpenAPI schema by `integrity gateway postman`; set the variables baseUrl and apiKey. "
                "The WebSocket stream (/ws/stream) is not in this collection: see docs/CLIENTS.md."
            ),
            "schema": SCHEMA_URL,
        },
        "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}]},
        "variable": [
            {"key": "baseUrl", "value": base_url, "type": "string"},
            {"key": "apiKey", "value": "", "type": "string"},
        ],
        "item": [{"name": name, "item": items} for name, items in folders.items()],
    }
