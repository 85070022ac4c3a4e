"""`aimux models` against the loopback server: every wire's list endpoint, Anthropic's and Gemini's pagination, the
output formats, the filter, concurrency across providers, and one failing provider among working ones."""

from __future__ import annotations

import json

import pytest

from aimux_cli import models
from provider_server import Reply, Seen
from test_ask import KEY, aimux, inline, server  # noqa: F401 - fixtures

OPENAI_PAGE = {"object": "list", "data": [
    {"id": "gpt-4.1-mini", "object": "model", "created": 1744318440, "owned_by": "system"},
    {"id": "anthropic/claude-sonnet-4.5", "name": "Anthropic: Claude Sonnet 4.5", "created": 1759161676,
     "context_length": 1000000, "pricing": {"prompt": "0.000003", "completion": "0.000015"},
     "top_provider": {"max_completion_tokens": 64000}},
]}
ANTHROPIC_PAGES = {
    None: {"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5",
                     "created_at": "2025-09-29T00:00:00Z"}], "has_more": True,
           "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-sonnet-4-5-20250929"},
    "claude-sonnet-4-5-20250929": {"data": [{"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5",
                                             "created_at": "2025-10-15T00:00:00Z"}],
                                   "has_more": False, "first_id": "claude-haiku-4-5", "last_id": "claude-haiku-4-5"},
}
GEMINI_PAGES = {
    None: {"models": [{"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1048576,
                       "outputTokenLimit": 65536}], "nextPageToken": "page-2"},
    "page-2": {"models": [{"name": "models/gemini-2.5-pro", "displayName": "Gemini 2.5 Pro",
                           "inputTokenLimit": 1048576, "outputTokenLimit": 65536}]},
}
OLLAMA_TAGS = {"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest", "modified_at": "2026-01-02T03:04:05Z",
                           "size": 2019393189, "details": {"parameter_size": "3.2B", "quantization_level": "Q4_K_M"}}]}


def _query(seen: Seen) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(seen.query))


def anthropic_pages(seen: Seen) -> Reply:
    query = _query(seen)
    assert query["limit"] == "1000" and seen.headers["anthropic-version"]
    return Reply.json(ANTHROPIC_PAGES[query.get("after_id")])


def gemini_pages(seen: Seen) -> Reply:
    query = _query(seen)
    assert query["pageSize"] == "1000"
    return Reply.json(GEMINI_PAGES[query.get("pageToken")])


def serve_all(server, *, openai=None, anthropic=None) -> None:
    server.route("/v1/models", openai or Reply.json(OPENAI_PAGE), method="GET",
                 headers={"authorization": f"Bearer {KEY}"})
    server.route("/v1beta/models", gemini_pages, method="GET", headers={"x-goog-api-key": KEY})
    server.route("/api/tags", Reply.json(OLLAMA_TAGS), method="GET")


def serve_anthropic(server, reply=anthropic_pages) -> None:
    # Anthropic's list shares /v1/models with OpenAI's on this server: tell them apart by the auth header
    openai = Reply.json(OPENAI_PAGE)

    def either(seen: Seen):
        return reply(seen) if "x-api-key" in seen.headers else openai

    server.route("/v1/models", either, method="GET")
    server.route("/v1beta/models", gemini_pages, method="GET", headers={"x-goog-api-key": KEY})
    server.route("/api/tags", Reply.json(OLLAMA_TAGS), method="GET")


EXPECTED_TEXT = [
    "anthropic/claude-sonnet-4-5-20250929", "anthropic/claude-haiku-4-5",
    "gemini/gemini-2.5-flash", "gemini/gemini-2.5-pro",
    "ollama/llama3.2:latest",
    "openai/gpt-4.1-mini", "openai/anthropic/claude-sonnet-4.5",
    "responses/gpt-4.1-mini", "responses/anthropic/claude-sonnet-4.5",
]


def test_every_wire_with_pagination_as_text(server, inline):
    serve_anthropic(server)
    result = inline("models", "-f", "text")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == EXPECTED_TEXT
    assert len(server.seen("/v1beta/models")) == 2  # both Gemini pages
    anthropic = [s for s in server.seen("/v1/models") if "x-api-key" in s.headers]
    assert [_query(s).get("after_id") for s in anthropic] == [None, "claude-sonnet-4-5-20250929"]


def test_json_fields_per_wire(server, inline):
    serve_anthropic(server)
    result = inline("models", "-p", "openai", "-p", "anthropic", "-p", "gemini", "-p", "ollama", "-f", "json")
    assert result.returncode == 0, result.stderr
    by_id = {(e["provider"], e["id"]): e for e in json.loads(result.stdout)}
    assert by_id["openai", "gpt-4.1-mini"] == {"provider": "openai", "id": "gpt-4.1-mini",
                                                "created": "2025-04-10T20:54:00Z", "owned_by": "system"}
    router = by_id["openai", "anthropic/claude-sonnet-4.5"]
    assert router["context_length"] == 1000000 and router["max_output_tokens"] == 64000
    assert router["pricing"] == {"prompt": "0.000003", "completion": "0.000015"}
    assert router["name"] == "Anthropic: Claude Sonnet 4.5"
    assert by_id["anthropic", "claude-haiku-4-5"] == {"provider": "anthropic", "id": "claude-haiku-4-5",
                                                      "name": "Claude Haiku 4.5", "created": "2025-10-15T00:00:00Z"}
    assert by_id["gemini", "gemini-2.5-pro"]["context_length"] == 1048576
    assert by_id["gemini", "gemini-2.5-pro"]["max_output_tokens"] == 65536
    assert by_id["ollama", "llama3.2:latest"] == {
        "provider": "ollama", "id": "llama3.2:latest", "created": "2026-01-02T03:04:05Z", "size": 2019393189,
        "parameter_size": "3.2B", "quantization": "Q4_K_M"}


def test_filter_and_toon_default_into_a_pipe(server, inline):
    serve_anthropic(server)
    result = inline("models", "-q", "SONNET")
    assert result.returncode == 0, result.stderr
    from aimux_cli.toon import encode

    listed = json.loads(inline("models", "-q", "SONNET", "-f", "json").stdout)
    assert result.stdout.decode() == encode(listed) + "\n"
    assert [f"{e['provider']}/{e['id']}" for e in listed] == [
        "anthropic/claude-sonnet-4-5-20250929", "openai/anthropic/claude-sonnet-4.5",
        "responses/anthropic/claude-sonnet-4.5"]


def test_rich_table_shows_prices_per_million_tokens(server, inline):
    serve_all(server)
    result = inline("models", "-p", "openai", "-f", "rich", "--no-color")
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "anthropic/claude-sonnet-4.5" in out and "1,000,000" in out and "2025-04-10" in out
    assert " 3 " in out + " " and "15" in out and "$/M in" in out


def test_providers_are_asked_concurrently(server, inline):
    """Each list is answered DELAY seconds after it is asked: asked one after the other, the requests would arrive
    at least DELAY apart; asked together, all arrive before the first answer."""
    delay = 3.0

    def slow(body: dict) -> Reply:
        reply = Reply.json(body)
        reply.chunks = [(delay, data) for _, data in reply.chunks]
        return reply

    server.route("/v1/models", slow(OPENAI_PAGE), method="GET")
    server.route("/v1beta/models", slow(GEMINI_PAGES["page-2"]), method="GET")
    server.route("/api/tags", slow(OLLAMA_TAGS), method="GET")
    result = inline("models", "-p", "ollama", "-p", "gemini", "-p", "openai", "-f", "text")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[0] == "ollama/llama3.2:latest"  # the order asked, not of arrival
    arrivals = sorted(seen.t for seen in server.requests)
    assert len(arrivals) == 3 and arrivals[-1] - arrivals[0] < delay


def test_one_failing_provider_is_one_line_and_its_exit_code(server):
    def refused(seen: Seen) -> Reply:
        return Reply.json({"type": "error", "error": {"type": "authentication_error",
                                                      "message": f"invalid x-api-key {KEY}"}}, 401)

    serve_anthropic(server, refused)
    result = aimux(server, "models", "-f", "text")
    assert result.returncode == 5
    assert result.stdout.decode().splitlines() == [t for t in EXPECTED_TEXT if not t.startswith("anthropic/")]
    err = result.stderr.decode().splitlines()
    assert len(err) == 1 and err[0].startswith("aimux: error: anthropic: HTTP 401"), err


def test_a_provider_without_a_key_fails_alone(server, inline, monkeypatch):
    serve_all(server)
    monkeypatch.delenv("GEMINI_API_KEY")
    result = inline("models", "-p", "gemini", "-p", "ollama", "-f", "text")
    assert result.returncode == 3
    assert result.stdout.decode() == "ollama/llama3.2:latest\n"
    assert b"GEMINI_API_KEY" in result.stderr and len(result.stderr.splitlines()) == 1


def test_unknown_provider_exits_3(server, inline):
    result = inline("models", "-p", "nope")
    assert result.returncode == 3 and b"unknown provider 'nope'" in result.stderr


def test_a_cursor_that_repeats_ends_the_walk(server, inline):
    loop = {"models": [{"name": "models/m"}], "nextPageToken": "same"}
    server.route("/v1beta/models", Reply.json(loop), method="GET")
    result = inline("models", "-p", "gemini", "-f", "text")
    assert result.returncode == 0 and result.stdout == b"gemini/m\ngemini/m\n"
    assert len(server.seen("/v1beta/models")) == 2


def test_a_list_that_is_not_json_is_a_provider_error(server, inline):
    server.route("/api/tags", Reply.body(b"<html>hi</html>", content_type="text/html"), method="GET")
    result = inline("models", "-p", "ollama")
    assert result.returncode == 7 and b"ollama: the model list is not JSON" in result.stderr


@pytest.mark.parametrize("price, shown", [("0.000003", "3"), ("0.0000001", "0.1"), ("0", "0"), ("x", ""),
                                          (None, ""), ("-1", "")])
def test_per_million(price, shown):
    assert models.per_million(price) == shown
