"""test-providers picks a provider whose key is in one of its other variables (`key_env_also`): Cohere's
COHERE_API_KEY as well as CO_API_KEY. Regression: only `key_env` was looked at, so `cohere` was skipped unless
named, and named it was skipped for 'no API key'."""

from __future__ import annotations

from aimux_cli import config as cfg
from aimux_cli import health


def _plan(tmp_path, names=(), **variables):
    (tmp_path / "empty.toml").write_text("")
    env = {"AIMUX_CONFIG": str(tmp_path / "empty.toml"), **variables}
    return {t.name: t for t in health.plan(names, env=env, config=cfg.load(env=env))}


def test_cohere_key_in_its_second_variable_is_checked(tmp_path):
    targets = _plan(tmp_path, COHERE_API_KEY="co-test-key")
    assert list(targets) == ["cohere"]
    assert targets["cohere"].resolved is not None and targets["cohere"].problem is None


def test_named_cohere_with_its_second_variable_is_not_skipped(tmp_path):
    target = _plan(tmp_path, ["cohere"], COHERE_API_KEY="co-test-key")["cohere"]
    assert target.resolved is not None and target.problem in (None, "")


def test_without_either_variable_the_problem_names_both(tmp_path):
    target = _plan(tmp_path, ["cohere", "openai"], OPENAI_API_KEY="sk-test")["cohere"]
    assert target.status == "skip" and "CO_API_KEY or COHERE_API_KEY" in target.problem
