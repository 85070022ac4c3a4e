"""test-providers' latency budgets (issue 13): --max-ttft, --max-latency, --min-tps and the per-provider config keys
fail a check that worked but was too slow (category budget, the measured figure and the limit in its error), and
pass it when it is within them. Slowness is made by the loopback server's delays, so every assertion is a lower
bound the server guarantees (a delay of D seconds cannot be measured as less than D)."""

from __future__ import annotations

import pytest

from aimux_cli import health_budget
from aimux_cli.health import Check
from aimux_cli.health_checks import RATE_PROMPT
from provider_server import FIXTURES, Reply
from test_test_providers import aimux, paths, serve, write_config

D = 0.05  # seconds before every stream event after the first (the first carries no text): TTFT >= D
SLOW = 0.3  # seconds before a slow completion's body


def slow_stream() -> Reply:
    return Reply.file("openai/chat-text-stream.sse", delay=D)


def slow_completion() -> Reply:
    body = (FIXTURES / "openai" / "chat-text.json").read_bytes()
    return Reply(200, {"content-type": "application/json"}, [(SLOW, body)], "length")


def checks(run) -> dict[str, dict]:
    return {c["name"]: c for c in run.provider("openai")["checks"]}


def test_max_ttft_fails_a_slow_first_token_with_the_figure_and_the_budget(tmp_path, provider_server):
    serve(provider_server, "openai", stream=slow_stream())
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json", "--max-ttft", "10")
    assert run.code == 10, run.stderr
    stream = checks(run)["stream"]
    assert stream["status"] == "fail" and stream["category"] == "budget"
    assert stream["ttft_ms"] >= D * 1000 and stream["budget"] == {"max_ttft_ms": 10.0}
    assert stream["error"] == f"TTFT {stream['ttft_ms']} ms is over the budget of 10 ms"
    assert stream["http_status"] == 200
    assert checks(run)["complete"]["status"] == "pass" and checks(run)["complete"]["budget"] is None


def test_max_ttft_passes_within_the_budget(tmp_path, provider_server):
    serve(provider_server, "openai", stream=slow_stream())
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json", "--max-ttft", "600000")
    assert run.code == 0, run.stderr
    assert checks(run)["stream"]["status"] == "pass" and checks(run)["stream"]["budget"] == {"max_ttft_ms": 600000}


def test_max_latency_fails_a_slow_completion_and_the_later_checks_still_run(tmp_path, provider_server):
    serve(provider_server, "openai", complete=slow_completion())
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json", "--max-latency",
                str(SLOW * 1000 / 2))
    assert run.code == 10
    got = checks(run)
    assert got["complete"]["status"] == "fail" and got["complete"]["category"] == "budget"
    assert got["complete"]["latency_ms"] >= SLOW * 1000
    assert got["complete"]["error"] == f"latency {got['complete']['latency_ms']} ms is over the budget of 150 ms"
    assert got["models"]["status"] == "pass" and got["models"]["budget"] is None  # not a completion
    assert got["stream"]["status"] in ("pass", "fail") and got["stream"]["latency_ms"] is not None  # it ran


def test_max_latency_passes_within_the_budget(tmp_path, provider_server):
    serve(provider_server, "openai", complete=slow_completion())
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json",
                "--max-latency", "600000")
    assert run.code == 0, run.stderr


def test_min_tps_fails_a_slow_stream_and_asks_for_a_longer_answer(tmp_path, provider_server):
    serve(provider_server, "openai", stream=slow_stream())
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json", "--min-tps", "1000")
    assert run.code == 10
    stream = checks(run)["stream"]
    # 62 output tokens (the usage) over 13 gaps of about D between 14 text deltas: near 61 / (13 D), ~94 tokens/s
    assert stream["output_tokens"] == 62 and 0 < stream["tps"] < 1000
    assert stream["category"] == "budget"
    assert stream["error"] == f"{stream['tps']:g} tokens/s is under the minimum of 1000 tokens/s"
    _, _, chat = paths("openai")
    prompts = [s.json()["messages"][-1]["content"] for s in provider_server.seen(chat)]
    assert prompts[-1] == RATE_PROMPT and prompts[0] != RATE_PROMPT  # only the stream is asked to count


def test_min_tps_passes_a_fast_enough_stream(tmp_path, provider_server):
    serve(provider_server, "openai", stream=slow_stream())
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json", "--min-tps", "0.5")
    assert run.code == 0, run.stderr
    assert checks(run)["stream"]["tps"] > 0.5


def test_min_tps_fails_when_the_whole_answer_arrives_at_once(tmp_path, provider_server):
    body = (FIXTURES / "openai" / "chat-text-stream.sse").read_bytes()
    serve(provider_server, "openai", stream=Reply.body(body, content_type="text/event-stream"))
    run = aimux(tmp_path, write_config(tmp_path, provider_server, ["openai"]), "-f", "json", "--min-tps", "5")
    stream = checks(run)["stream"]
    if stream["tps"] is None:  # one read got every event (the usual case on loopback): a buffered answer
        assert run.code == 10 and stream["category"] == "budget"
        assert "cannot be measured (62 tokens, all at once)" in stream["error"]


def test_config_keys_set_budgets_per_provider_and_the_command_line_wins(tmp_path, provider_server):
    serve(provider_server, "openai", stream=slow_stream())
    config = write_config(tmp_path, provider_server, ["openai"])
    config.write_text(config.read_text() + "max_ttft_ms = 10\nmax_latency_ms = 600000\n")
    run = aimux(tmp_path, config, "-f", "json")
    assert run.code == 10
    assert checks(run)["stream"]["budget"] == {"max_latency_ms": 600000, "max_ttft_ms": 10}
    assert checks(run)["stream"]["category"] == "budget"
    serve(provider_server, "openai", stream=slow_stream())  # the route's replies again, from the first
    run = aimux(tmp_path, config, "-f", "json", "--max-ttft", "600000")
    assert run.code == 0, run.stderr
    assert checks(run)["stream"]["budget"] == {"max_latency_ms": 600000, "max_ttft_ms": 600000}


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_a_budget_that_is_not_a_positive_number_is_a_usage_error(tmp_path, value):
    run = aimux(tmp_path, tmp_path / "none.toml", "--max-ttft", value)
    assert run.code == 2 and run.stderr.count("\n") == 1 and "--max-ttft" in run.stderr


@pytest.mark.parametrize("line", ["max_ttft_ms = 0", 'min_tps = "fast"', "max_latency_ms = true"])
def test_a_bad_budget_in_the_config_is_exit_3_naming_the_key(tmp_path, provider_server, line):
    config = write_config(tmp_path, provider_server, ["openai"])
    config.write_text(config.read_text() + line + "\n")
    run = aimux(tmp_path, config)
    assert run.code == 3 and line.split()[0] in run.stderr and run.stderr.count("\n") == 1


def test_which_limits_apply_to_which_check():
    budget = health_budget.Budget(max_ttft_ms=1, max_latency_ms=2, min_tps=3)
    assert budget.limits("models") == {}
    assert budget.limits("complete") == {"max_latency_ms": 2}
    assert budget.limits("stream") == {"max_latency_ms": 2, "max_ttft_ms": 1, "min_tps": 3}
    assert budget.limits("stream-usage") == {"max_latency_ms": 2, "max_ttft_ms": 1}
    check = Check("stream", output_tokens=1, generation_s=0.0)
    assert health_budget.tps(check) is None
    assert health_budget.tps(Check("stream", output_tokens=11, generation_s=2.0)) == 5.0
