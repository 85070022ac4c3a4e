"""test-providers' capability checks (issue 13): stream-usage, tools, schema, reasoning, each passing and failing
(no usage in the stream, tool call missing, arguments invalid or not JSON, schema violated, no reasoning), picked by
--checks or by `checks = [...]` in the config, their requests built by request.build as `ask` builds them. Loopback
provider server; fixtures in tests/data/health."""

from __future__ import annotations

import pytest

from aimux_cli import health_capabilities as capable
from provider_server import Reply
from test_test_providers import DATA, aimux, paths, serve, write_config


def route(server, **by_check: str) -> None:
    """openai whose chat endpoint answers each capability's request with the named fixture (tests/data/health, or
    fixtures/ for a name with a slash), the passing fixtures otherwise. The request's body tells the checks apart."""
    serve(server, "openai")
    complete = Reply.file("openai/chat-text.json")
    stream = Reply.file("openai/chat-text-stream.sse")

    def answer(seen):
        body = seen.json()
        kind = ("tools" if "tools" in body else "schema" if "response_format" in body
                else "reasoning" if "reasoning_effort" in body else "stream" if body.get("stream") else "complete")
        if kind in by_check:
            name = by_check[kind]
            return Reply.file(name if "/" in name else DATA / name)  # "openai/...": a shared fixture
        return stream if kind == "stream" else complete

    server.route(paths("openai")[1], answer, method="POST")


def run_checks(tmp_path, server, checks: str, **by_check: str):
    route(server, **by_check)
    run = aimux(tmp_path, write_config(tmp_path, server, ["openai"]), "-f", "json", "--checks", checks)
    return run, {c["name"]: c for c in run.provider("openai")["checks"]}


def bodies(server, key: str) -> list[dict]:
    return [s.json() for s in server.seen(paths("openai")[1]) if key in s.json()]


# --- stream-usage ----------------------------------------------------------------------------------------------------


def test_stream_usage_passes_when_the_stream_ends_with_usage(tmp_path, provider_server):
    run, got = run_checks(tmp_path, provider_server, "stream-usage")
    assert run.code == 0, run.stdout
    assert list(got) == ["stream-usage"] and got["stream-usage"]["output_tokens"] == 62
    (body,) = bodies(provider_server, "stream_options")
    assert body["stream_options"] == {"include_usage": True} and body["stream"] is True


def test_stream_usage_fails_a_stream_without_usage(tmp_path, provider_server):
    run, got = run_checks(tmp_path, provider_server, "stream,stream-usage", stream="chat-stream-no-usage.sse")
    assert run.code == 10
    assert got["stream"]["status"] == "pass"  # a stream without usage is still a working stream
    check = got["stream-usage"]
    assert check["status"] == "fail" and check["category"] == "check" and check["http_status"] == 200
    assert check["error"] == "the stream reported no output token count at its end (usage: nothing)"


# --- tools -----------------------------------------------------------------------------------------------------------


def test_tools_passes_with_a_forced_call_whose_arguments_validate(tmp_path, provider_server):
    run, got = run_checks(tmp_path, provider_server, "tools", tools="chat-tool-call.json")
    assert run.code == 0, run.stdout
    assert got["tools"]["status"] == "pass"
    (body,) = bodies(provider_server, "tools")
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["parameters"]["required"] == ["city", "unit"]


@pytest.mark.parametrize(("fixture", "says"), [
    ("openai/chat-text.json", "the forced call of get_weather did not come back: no tool call (finish: stop)"),
    ("chat-tool-call-other.json", "the forced call of get_weather did not come back: calls of get_time only"),
    ("chat-tool-call-bad-args.json", "the arguments of get_weather break its schema: $.unit: 'kelvin' is not one of"),
    ("chat-tool-call-not-json.json", "the arguments of get_weather are not JSON: {city: Paris"),
])
def test_tools_fails_without_the_call_or_with_bad_arguments(tmp_path, provider_server, fixture, says):
    run, got = run_checks(tmp_path, provider_server, "models,tools", tools=fixture)
    assert run.code == 10
    assert got["models"]["status"] == "pass"
    assert got["tools"]["status"] == "fail" and got["tools"]["category"] == "check"
    assert got["tools"]["error"].startswith(says), got["tools"]["error"]


# --- schema ----------------------------------------------------------------------------------------------------------


def test_schema_passes_when_the_structured_answer_validates(tmp_path, provider_server):
    run, got = run_checks(tmp_path, provider_server, "schema", schema="chat-schema.json")
    assert run.code == 0, run.stdout
    (body,) = bodies(provider_server, "response_format")
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["city", "country"]


@pytest.mark.parametrize(("fixture", "says"), [
    ("chat-schema-violation.json", "the structured answer breaks the schema: $: 'country' is a required property"),
    ("openai/chat-text.json", "the structured answer breaks the schema: $: the answer is not JSON"),
])
def test_schema_fails_a_violation_or_an_answer_that_is_not_json(tmp_path, provider_server, fixture, says):
    run, got = run_checks(tmp_path, provider_server, "schema", schema=fixture)
    assert run.code == 10
    assert got["schema"]["error"].startswith(says), got["schema"]["error"]


# --- reasoning -------------------------------------------------------------------------------------------------------


def test_reasoning_passes_with_reasoning_tokens_and_fails_without(tmp_path, provider_server):
    run, got = run_checks(tmp_path, provider_server, "reasoning", reasoning="chat-reasoning.json")
    assert run.code == 0, run.stdout
    (body,) = bodies(provider_server, "reasoning_effort")
    assert body["reasoning_effort"] == "low"
    provider_server.requests.clear()
    run, got = run_checks(tmp_path, provider_server, "reasoning", reasoning="openai/chat-text.json")
    assert run.code == 10
    assert got["reasoning"]["error"] == "the answer carries no reasoning: no thinking block and no reasoning tokens"


# --- choosing checks -------------------------------------------------------------------------------------------------


def test_checks_run_in_their_fixed_order_and_a_gate_failure_skips_the_rest(tmp_path, provider_server):
    route(provider_server)
    provider_server.route(paths("openai")[0], Reply.json({"error": {"message": "down"}}, status=500), method="GET")
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json", "--checks",
                "schema,tools,models")
    checks = run.provider("openai")["checks"]
    assert [c["name"] for c in checks] == ["models", "tools", "schema"]
    assert [c["status"] for c in checks] == ["fail", "skip", "skip"]


def test_the_config_picks_checks_per_provider_and_the_command_line_wins(tmp_path, provider_server):
    route(provider_server, tools="chat-tool-call.json")
    config = write_config(tmp_path, provider_server, ["openai"])
    config.write_text(config.read_text() + 'checks = ["models", "tools"]\n')
    run = aimux(tmp_path, config, "-f", "json")
    assert run.code == 0, run.stdout
    assert [c["name"] for c in run.provider("openai")["checks"]] == ["models", "tools"]
    run = aimux(tmp_path, config, "-f", "json", "--checks", "models")
    assert [c["name"] for c in run.provider("openai")["checks"]] == ["models"]


def test_an_unknown_check_in_the_config_is_exit_3(tmp_path, provider_server):
    config = write_config(tmp_path, provider_server, ["openai"])
    config.write_text(config.read_text() + 'checks = ["models", "telepathy"]\n')
    run = aimux(tmp_path, config)
    assert run.code == 3 and "telepathy" in run.stderr and "providers.openai.checks" in run.stderr


def test_the_rich_table_has_a_column_per_chosen_check(tmp_path, provider_server):
    route(provider_server, tools="chat-tool-call.json")
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "rich", "--checks",
                "models,tools")
    header = run.stdout.splitlines()[0].split()
    assert header == ["provider", "┃", "model", "┃", "status", "┃", "models", "┃", "tools", "┃", "error"]


def test_the_tool_and_schema_of_the_checks_are_valid_json_schemas():
    from aimux_cli import schema_check

    assert schema_check.schema_problem(capable.TOOL_PARAMETERS) is None
    assert schema_check.schema_problem(capable.SCHEMA) is None


# --- another wire: Anthropic (a schema travels as a forced tool named after it) ---------------------------------------


def anthropic_route(server, tools: str, schema: str) -> None:
    serve(server, "anthropic")

    def answer(seen):
        names = [t["name"] for t in seen.json().get("tools", [])]
        name = schema if names == ["capital"] else tools
        return Reply.file(name if "/" in name else DATA / name)

    server.route(paths("anthropic")[1], answer, method="POST")


def anthropic_checks(tmp_path, server) -> dict[str, dict]:
    run = aimux(tmp_path, write_config(tmp_path, server, ["anthropic"]), "-f", "json", "--checks", "tools,schema",
                keys=("ANTHROPIC_API_KEY",))
    return {c["name"]: c for c in run.provider("anthropic")["checks"]}


def test_anthropic_tools_and_schema_pass(tmp_path, provider_server):
    anthropic_route(provider_server, "messages-tool-call.json", "messages-schema.json")
    got = anthropic_checks(tmp_path, provider_server)
    assert [c["status"] for c in got.values()] == ["pass", "pass"], got
    sent = [s.json() for s in provider_server.seen(paths("anthropic")[1])]
    assert [b["tool_choice"] for b in sent] == [{"type": "tool", "name": "get_weather"},
                                                {"type": "tool", "name": "capital"}]


def test_anthropic_tool_arguments_that_break_the_schema_fail(tmp_path, provider_server):
    # a recorded answer whose get_weather call names a `location`, not the `city` the check's tool asks for
    anthropic_route(provider_server, "anthropic/tool-use-parallel.json", "anthropic/text-end-turn.json")
    got = anthropic_checks(tmp_path, provider_server)
    assert got["tools"]["error"].startswith("the arguments of get_weather break its schema: $"), got["tools"]
    assert got["schema"]["error"].startswith("the structured answer breaks the schema: $: the answer is not JSON")
