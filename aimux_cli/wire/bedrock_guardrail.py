"""Bedrock Guardrails assessments (a Converse response's `trace.guardrail`, in a stream the `metadata` event's)
-> the document's `safety` entries (aimux_cli/safety.py). Used by aimux_cli/wire/bedrock.py.

`inputAssessment` (one assessment per guardrail id) is scope `prompt`; `outputAssessments` (a list per guardrail
id) scope `output`. Each policy finding is one entry, its category the provider's word, verbatim:

- `contentPolicy.filters[]`: category `type` (`VIOLENCE`, `PROMPT_ATTACK`, ...), `probability` its `confidence`
  (`NONE`, `LOW`, `MEDIUM`, `HIGH`), `filterStrength` kept;
- `topicPolicy.topics[]`: category the topic's `name`;
- `wordPolicy`: `managedWordLists[]` under their `type` (`PROFANITY`), `customWords[]` as `CUSTOM_WORD`, with `match`;
- `sensitiveInformationPolicy`: `piiEntities[]` under their `type` (`EMAIL`, ...), `regexes[]` under their `name`;
- `contextualGroundingPolicy.filters[]`: category `type` (`GROUNDING`, `RELEVANCE`), `score` and `threshold` kept.

Every entry says which `policy` it comes from and keeps `action`; `filtered` is true when the action blocked or
anonymized content, `detected` is AWS's own flag when given. A matched text (`match`) is kept: it is what the
guardrail saw. Assessments that found nothing (only `invocationMetrics`) give no entry.
"""

from __future__ import annotations

from typing import Any

from aimux_cli.document import Accumulator

_FILTERING = frozenset(("BLOCKED", "ANONYMIZED"))
# (policy key, list key, entry policy name, the field naming the category or a fixed category)
_FINDINGS = (
    ("contentPolicy", "filters", "content", "type"),
    ("topicPolicy", "topics", "topic", "name"),
    ("wordPolicy", "managedWordLists", "word", "type"),
    ("wordPolicy", "customWords", "word", "=CUSTOM_WORD"),
    ("sensitiveInformationPolicy", "piiEntities", "sensitive_information", "type"),
    ("sensitiveInformationPolicy", "regexes", "sensitive_information", "name"),
    ("contextualGroundingPolicy", "filters", "contextual_grounding", "type"),
)
_KEPT = ("filterStrength", "match", "score", "threshold")


def record(acc: Accumulator, trace: Any) -> None:
    """Fold the `trace` of a Converse response (or of a stream's `metadata` event) into `acc.safety`."""
    guardrail = trace.get("guardrail") if isinstance(trace, dict) else None
    if not isinstance(guardrail, dict):
        return
    inputs = guardrail.get("inputAssessment")
    for assessment in inputs.values() if isinstance(inputs, dict) else ():
        _assessment(acc, "prompt", assessment)
    outputs = guardrail.get("outputAssessments")
    for assessments in outputs.values() if isinstance(outputs, dict) else ():
        for assessment in assessments if isinstance(assessments, list) else ():
            _assessment(acc, "output", assessment)


def _assessment(acc: Accumulator, scope: str, assessment: Any) -> None:
    if not isinstance(assessment, dict):
        return
    for policy_key, list_key, policy, naming in _FINDINGS:
        policy_value = assessment.get(policy_key)
        findings = policy_value.get(list_key) if isinstance(policy_value, dict) else None
        for finding in findings if isinstance(findings, list) else ():
            if isinstance(finding, dict):
                _finding(acc, scope, policy, naming, finding)


def _finding(acc: Accumulator, scope: str, policy: str, naming: str, finding: dict) -> None:
    category = naming[1:] if naming.startswith("=") else finding.get(naming)
    action = finding.get("action")
    detected = finding.get("detected")
    fields: dict[str, Any] = {"policy": policy, "action": action if isinstance(action, str) else None,
                              "probability": finding.get("confidence") if policy == "content" else None,
                              "detected": detected if isinstance(detected, bool) else None,
                              "filtered": action in _FILTERING}
    fields.update({key: finding[key] for key in _KEPT if key in finding})
    acc.safety(scope, category, 0, **fields)
