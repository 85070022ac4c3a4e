"""`ask -c/--continue` and `--cid`: earlier turns read back from the log and re-sent in each wire's own format, across
providers of different wires; `aimux logs -c ID` lists one conversation."""

from __future__ import annotations

import json

from aimux_cli import logdb
from provider_server import FIXTURES, Reply, Seen
from test_ask import MODELS, WIRES, inline, route, server  # noqa: F401 - fixtures

BODIES: list[dict] = []


def capture(seen: Seen) -> None:
    BODIES.append(seen.json())


def answer_of(row_id: int) -> str:
    conn = logdb.connect(create=False)
    try:
        return conn.execute("SELECT answer FROM exchanges WHERE id = ?", (row_id,)).fetchone()[0]
    finally:
        conn.close()


def say(server, inline, provider: str, *args: str) -> None:
    route(server, provider, Reply.file(WIRES[provider][4]), check=capture)
    result = inline("ask", "-p", provider, "-f", "text", *args)
    assert result.returncode == 0, result.stderr


def test_a_conversation_moves_across_every_wire(server, inline):
    BODIES.clear()
    say(server, inline, "openai", "--system", "be brief", "first")
    a1 = answer_of(1)
    say(server, inline, "anthropic", "-c", "second")
    assert BODIES[-1]["messages"] == [{"role": "user", "content": "first"}, {"role": "assistant", "content": a1},
                                      {"role": "user", "content": "second"}]
    assert BODIES[-1]["system"] == "be brief"  # kept from the conversation
    a2 = answer_of(2)
    cid = json.loads(inline("logs", "-f", "json").stdout)[0]["conversation_id"]
    say(server, inline, "gemini", "--cid", cid, "third")
    assert BODIES[-1]["contents"] == [
        {"role": "user", "parts": [{"text": "first"}]}, {"role": "model", "parts": [{"text": a1}]},
        {"role": "user", "parts": [{"text": "second"}]}, {"role": "model", "parts": [{"text": a2}]},
        {"role": "user", "parts": [{"text": "third"}]}]
    assert BODIES[-1]["systemInstruction"] == {"parts": [{"text": "be brief"}]}
    a3 = answer_of(3)
    say(server, inline, "responses", "-c", "--system", "be long", "fourth")
    assert BODIES[-1]["input"][-3:] == [{"role": "user", "content": "third"},
                                        {"role": "assistant", "content": a3},
                                        {"role": "user", "content": "fourth"}]
    assert BODIES[-1]["instructions"] == "be long"
    say(server, inline, "ollama", "-c", "fifth")
    messages = BODIES[-1]["messages"]
    assert messages[0] == {"role": "system", "content": "be long"}  # the newest turn's system prompt
    assert [m["role"] for m in messages[1:]] == ["user", "assistant"] * 4 + ["user"]
    assert messages[-1] == {"role": "user", "content": "fifth"}
    listed = json.loads(inline("logs", "-c", cid, "-f", "json").stdout)
    assert [e["id"] for e in listed] == [5, 4, 3, 2, 1] and {e["conversation_id"] for e in listed} == {cid}
    assert [e["id"] for e in json.loads(inline("logs", "-c", "last", "-f", "json").stdout)] == [5, 4, 3, 2, 1]


def test_a_new_ask_starts_a_new_conversation_and_failed_turns_are_left_out(server, inline):
    BODIES.clear()
    say(server, inline, "openai", "one")
    say(server, inline, "openai", "two")  # a new conversation
    route(server, "openai", Reply.body((FIXTURES / "openai/error-500-server-error.json").read_bytes(), 500))
    assert inline("ask", "-p", "openai", "--retries", "0", "-c", "broken").returncode == 7
    say(server, inline, "openai", "-c", "three")
    assert [m["content"] for m in BODIES[-1]["messages"]] == ["two", answer_of(2), "three"]
    ids = [e["conversation_id"] for e in json.loads(inline("logs", "-f", "json").stdout)]
    assert ids[0] == ids[1] == ids[2] != ids[3] and all(len(i) == 12 for i in ids)


def test_no_log_continues_without_growing_the_conversation(server, inline):
    BODIES.clear()
    say(server, inline, "openai", "one")
    say(server, inline, "openai", "-c", "--no-log", "aside")
    say(server, inline, "openai", "-c", "two")
    assert [m["content"] for m in BODIES[-1]["messages"]] == ["one", answer_of(1), "two"]


def test_nothing_to_continue_exits_4(server, inline):
    result = inline("ask", "-p", "openai", "-c", "hi")
    assert result.returncode == 4 and b"no conversation to continue" in result.stderr
    say(server, inline, "openai", "one")
    result = inline("ask", "-p", "openai", "--cid", "nope", "hi")
    assert result.returncode == 4 and b"no conversation 'nope' in the log" in result.stderr


def test_tool_calls_and_their_results_are_re_sent_across_wires(server, inline, tmp_path):
    """Issue 12: a continued conversation re-sends the answer's tool calls and the results given with --tool-result
    in each wire's own form (OpenAI tool_calls + tool messages, Anthropic tool_use + tool_result blocks, Gemini
    functionCall + functionResponse parts), and the results are logged with the turn that sent them."""
    BODIES.clear()
    route(server, "openai", Reply.file("openai/chat-two-tool-calls-stream.sse"), check=capture)
    first = inline("ask", "-p", "openai", "-f", "text", "weather and time in Lisbon?")
    assert first.returncode == 0, first.stderr
    assert b"tool get_current_weather" in first.stdout
    (tmp_path / "time.txt").write_text("14:05")
    say(server, inline, "anthropic", "-c", "--tool-result", 'get_current_weather={"temp": 21}',
        "--tool-result", f"call_Zp9jY3fGu6MeK0tVb5SnCq2X=@{tmp_path / 'time.txt'}")
    messages = BODIES[-1]["messages"]
    assert messages[0] == {"role": "user", "content": "weather and time in Lisbon?"}
    uses = [b for b in messages[1]["content"] if b["type"] == "tool_use"]
    assert messages[1]["role"] == "assistant" and [(u["name"], u["input"]) for u in uses] == [
        ("get_current_weather", {"city": "Lisbon", "country": "PT", "unit": "celsius"}),
        ("get_local_time", {"timezone": "Europe/Lisbon", "format": "24h"})]
    results = [b for b in messages[2]["content"] if b["type"] == "tool_result"]
    assert messages[2]["role"] == "user" and len(messages) == 3  # no prompt: the results are the turn
    assert [(r["tool_use_id"], r["content"]) for r in results] == [
        (uses[0]["id"], '{"temp": 21}'), (uses[1]["id"], "14:05")]
    answer = answer_of(2)
    say(server, inline, "gemini", "-c", "thanks")
    contents = BODIES[-1]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    assert [p["functionCall"]["name"] for p in contents[1]["parts"]] == ["get_current_weather", "get_local_time"]
    responses = [p["functionResponse"] for p in contents[2]["parts"]]
    assert [r["name"] for r in responses] == ["get_current_weather", "get_local_time"]
    assert contents[3] == {"role": "model", "parts": [{"text": answer}]}
    assert contents[4] == {"role": "user", "parts": [{"text": "thanks"}]}


def test_a_tool_call_left_without_a_result_is_not_re_sent(server, inline):
    BODIES.clear()
    route(server, "openai", Reply.file("openai/chat-two-tool-calls-stream.sse"), check=capture)
    assert inline("ask", "-p", "openai", "-f", "text", "weather?").returncode == 0
    route(server, "openai", Reply.file(WIRES["openai"][4]), check=capture)
    result = inline("ask", "-p", "openai", "-f", "text", "-c", "--tool-result", "get_local_time=14:05", "and?")
    assert result.returncode == 0, result.stderr
    assert b"get_current_weather" in result.stderr and b"--tool-result" in result.stderr
    sent = BODIES[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert [c["function"]["name"] for c in sent[1]["tool_calls"]] == ["get_local_time"]
    assert sent[2]["content"] == "14:05" and sent[2]["tool_call_id"] == sent[1]["tool_calls"][0]["id"]


def test_tool_result_errors_name_the_problem(server, inline):
    result = inline("ask", "-p", "openai", "--tool-result", "x=1", "hi")
    assert result.returncode == 2 and b"-c/--continue or --cid" in result.stderr
    say(server, inline, "openai", "plain")
    result = inline("ask", "-p", "openai", "-c", "--tool-result", "nope=1")
    assert result.returncode == 2 and b"'nope'" in result.stderr and b"its calls: none" in result.stderr
    result = inline("ask", "-p", "openai", "-c", "--tool-result", "novalue")
    assert result.returncode == 2 and b"CALL=TEXT" in result.stderr
