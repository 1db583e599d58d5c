"""One diagnosis rule: how it recognises a failure, what it saw, and what to do about it.

A rule recognises a failure in two ways:

- by **signature**: the stage that saw the failure named its kind (``ErrorEntry.context["signature"]``,
  e.g. ``port_mismatch`` from the install script) or the error's type is one the rule owns
  (``StackFailed``, ``States.Timeout``, ``Runtime.*``...). ``signatures`` decide alone;
  ``weak_signatures`` count only when one of the rule's ``patterns`` also matches a line — they let a
  specific rule (``module-not-found``) claim a generic kind (``app_exited``) when the text shows why.
- by **pattern** only (``text_match``): a line of the message, the command's output tail, or a stack
  event reason matches; such a match counts only in the rule's ``stages`` (all stages when empty).

The catalogue ranks every match: a signature match beats a pattern match, then the lower
``priority`` (the more specific rule) wins. The lines the patterns matched are the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from hivemind.models import ErrorEntry

Confidence = Literal["signature", "pattern"]
Facts = dict[str, Any]

MAX_EVIDENCE = 5
MAX_LINE = 400
# Lines that only frame the install script's log excerpt: never evidence.
_NOISE = re.compile(r"^-{3,}(\s.*-{3,})?$")


@dataclass(frozen=True)
class Match:
    """A rule's verdict on one error: how sure it is, the lines it saw, the values it read."""

    rule: Rule
    confidence: Confidence
    evidence: tuple[str, ...]
    facts: Facts = field(default_factory=dict)
    fix: dict[str, Any] | None = None

    @property
    def summary(self) -> str:
        if not self.facts:
            return self.rule.title
        shown = ", ".join(f"{k} {v}" for k, v in self.facts.items())
        return f"{self.rule.title} ({shown})"


@dataclass(frozen=True)
class Rule:
    """A known failure. ``priority``: lower is more specific and is tried first."""

    id: str
    title: str
    stages: tuple[str, ...]
    signatures: tuple[str, ...]
    patterns: tuple[str, ...]
    remediation: str
    fixable: bool = False
    fix: Callable[[Facts], dict[str, Any] | None] | None = None
    priority: int = 500
    weak_signatures: tuple[str, ...] = ()
    text_match: bool = True
    extract: Callable[[list[str]], Facts] | None = None
    applies: Callable[[ErrorEntry], bool] | None = None  # a signature test the sets cannot express
    compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", self.id):
            raise ValueError(f"rule id {self.id!r} must be lowercase words joined by '-'")
        if not self.remediation.strip():
            raise ValueError(f"rule {self.id} has no remediation")
        if self.fixable != (self.fix is not None):
            raise ValueError(f"rule {self.id}: fixable={self.fixable} but fix is {self.fix!r}")
        object.__setattr__(self, "compiled", tuple(re.compile(p, re.IGNORECASE) for p in self.patterns))

    def owns(self, names: Iterable[str], *, weak: bool = False) -> bool:
        """True if one of ``names`` (a signature or an error type) is one of this rule's (globs allowed)."""
        wanted = self.weak_signatures if weak else self.signatures
        return any(fnmatchcase(name, w) for name in names if name for w in wanted)

    def hits(self, lines: list[str]) -> list[str]:
        return [line for line in lines if any(p.search(line) for p in self.compiled)]

    def match(self, error: ErrorEntry) -> Match | None:
        """This rule's reading of ``error``, or None when it does not apply."""
        names = (str(error.context.get("signature") or ""), error.type)
        lines = error_lines(error)
        hits = self.hits(lines)
        if self.owns(names) or (self.applies is not None and self.applies(error)):
            confidence: Confidence = "signature"
        elif hits and self.owns(names, weak=True):
            confidence = "signature"
        elif hits and self.text_match and (not self.stages or error.stage in self.stages):
            confidence = "pattern"
        else:
            return None
        evidence = _dedupe(hits)[-MAX_EVIDENCE:] or fallback_evidence(error, lines)
        facts = self.extract(lines) if self.extract else {}
        fix = self.fix(facts) if self.fix else None
        return Match(self, confidence, tuple(evidence), facts, fix)


def error_lines(error: ErrorEntry) -> list[str]:
    """Every line a rule may read: the message, the command's output tail, stack events, probe results.

    The context comes from many writers (and, for foreign errors, from anywhere): any shape is read
    as text rather than refused.
    """
    ctx = error.context if isinstance(error.context, dict) else {}
    raw: list[str] = [error.message]
    raw.extend(_texts(ctx.get("output_tail")))
    events = ctx.get("events")
    for event in events if isinstance(events, list | tuple) else _texts(events):
        if isinstance(event, dict):
            where = f"{event.get('logical_id', '?')} ({event.get('type', '?')}) {event.get('status', '')}".strip()
            raw.append(f"{where}: {event.get('reason') or ''}")
        else:
            raw.append(str(event))
    for key in ("status", "last_reason", "last_error", "last_body"):
        value = ctx.get(key)
        if isinstance(value, str) and value:
            raw.extend(value.splitlines() if key == "last_body" else [f"{key}: {value}"])
    lines = []
    for chunk in raw:
        for line in str(chunk).splitlines():
            line = line.strip()
            if line and not _NOISE.match(line):
                lines.append(line[:MAX_LINE])
    return lines


def _texts(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def fallback_evidence(error: ErrorEntry, lines: list[str] | None = None) -> list[str]:
    """No line matched a pattern: the message and the last lines of output say most."""
    lines = lines if lines is not None else error_lines(error)
    head = error.message.strip().splitlines()[0][:MAX_LINE] if error.message.strip() else ""
    rest = [line for line in lines[1:] if line != head]
    return _dedupe(([head] if head else []) + rest[-(MAX_EVIDENCE - 1):])[:MAX_EVIDENCE] or [f"{error.type}"]


def first_group(pattern: str, lines: list[str], flags: int = re.IGNORECASE) -> str | None:
    """The first capture group of the first line that matches ``pattern`` (for ``extract`` functions)."""
    compiled = re.compile(pattern, flags)
    for line in lines:
        found = compiled.search(line)
        if found:
            return found.group(1)
    return None


def _dedupe(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for line in lines:
        if line not in seen:
            seen.add(line)
            out.append(line)
    return out
