"""Optional LLM reading of a diagnosis through Amazon Bedrock's Converse API (off by default).

Nothing depends on it: ``logic.failure.diagnose`` asks for a reading only when the setting
``llm_diagnosis`` is on and a diagnoser is in ``ports.extra["llm"]``, and ignores its failures.
Nothing secret leaves: every text sent is passed through ``redact`` first (credentials in URLs,
password/token/secret assignments, AWS keys, bearer tokens, private keys).
"""

from __future__ import annotations

import re
from typing import Any

import boto3

from hivemind.adapters.aws import RETRY_CONFIG
from hivemind.errors import InvalidInput
from hivemind.models import Diagnosis, ErrorEntry

SYSTEM_PROMPT = (
    "You help a developer whose web app failed to deploy to AWS with HiveMind (EC2 behind a load balancer, "
    "installed by an SSM command). You get the failed stage, the error, the evidence lines and the rule-based "
    "diagnosis. In at most 5 short sentences: the most likely cause, and the one change to make. "
    "Say so when the evidence is not enough. Do not invent log lines."
)
MAX_TOKENS = 400
MAX_LINES = 40
REDACTED = "[redacted]"

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host -> scheme://[redacted]@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), rf"\1{REDACTED}@"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
     f"{REDACTED} private key"),
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REDACTED),  # JWT
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})"), REDACTED),
    # NAME=value / NAME: value / "name": "value" where NAME says it is secret
    (re.compile(r"(?i)([\"']?[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|credential|"
                r"authorization|private[_-]?key)[\w.-]*[\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&]+)"),
     rf"\1{REDACTED}"),
    # query strings: ?token=...&sig=...
    (re.compile(r"(?i)([?&](?:x-amz-signature|x-amz-security-token|x-amz-credential|signature|sig|token|key)=)"
                r"[^&\s]+"), rf"\1{REDACTED}"),
)


def redact(text: str) -> str:
    """``text`` without anything that looks like a credential."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def prompt_for(error: ErrorEntry, diagnosis: Diagnosis) -> str:
    """The user message: stage, error, evidence, output tail and the rule-based reading, redacted."""
    tail = error.context.get("output_tail") if isinstance(error.context, dict) else None
    tail_lines = [str(t) for t in tail][-MAX_LINES:] if isinstance(tail, list | tuple) else []
    parts = [
        f"Stage: {error.stage}",
        f"Error type: {error.type}",
        f"Error: {error.message}",
        f"Rule-based diagnosis: {diagnosis.rule} - {diagnosis.summary}",
        "Evidence:",
        *[f"  {line}" for line in diagnosis.evidence],
    ]
    if tail_lines:
        parts += ["Last output lines:", *[f"  {line}" for line in tail_lines]]
    if diagnosis.closest:
        parts.append(f"Closest known rules: {', '.join(diagnosis.closest)}")
    return redact("\n".join(parts))


class BedrockDiagnoser:
    """Reads a failure with a Bedrock model through ``bedrock-runtime`` Converse."""

    def __init__(self, model_id: str, region: str | None = None, client: Any | None = None) -> None:
        if not model_id or not re.fullmatch(r"[A-Za-z0-9._:/-]{1,2048}", model_id):
            raise InvalidInput(f"not a Bedrock model id or ARN: {model_id!r}",
                               remediation="Set HIVEMIND_LLM_MODEL_ID to a Bedrock model id, e.g. "
                                           "anthropic.claude-3-haiku-20240307-v1:0.")
        self.model_id = model_id
        self._client = client or boto3.client("bedrock-runtime", region_name=region, config=RETRY_CONFIG)

    def read(self, error: ErrorEntry, diagnosis: Diagnosis) -> str | None:
        """The model's reading (plain text), or None when it answered nothing."""
        response = self._client.converse(
            modelId=self.model_id,
            system=[{"text": SYSTEM_PROMPT}],
            messages=[{"role": "user", "content": [{"text": prompt_for(error, diagnosis)}]}],
            inferenceConfig={"maxTokens": MAX_TOKENS, "temperature": 0},
        )
        content = response.get("output", {}).get("message", {}).get("content", [])
        text = "\n".join(block["text"] for block in content if isinstance(block, dict) and block.get("text"))
        return redact(text.strip()) or None
