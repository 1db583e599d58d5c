"""HiveMind Medic: read a failed deployment's error and say what went wrong, what to do, and whether
HiveMind can fix it itself.

``diagnose_error`` always answers. A known failure gets its rule's id, the evidence lines, the
remediation and, when the rule can fix it and the evidence holds the value it needs, a fix.
An unknown failure gets rule ``"unknown"``, its last lines as evidence and the three ``closest``
rules by word overlap (see ``closest_rules``).
"""

from __future__ import annotations

import logging
import math
import re

from hivemind.logic.medic.catalogue import catalogue, get_rule, rank, rule_ids
from hivemind.logic.medic.rule import Match, Rule, error_lines, fallback_evidence
from hivemind.models import ErrorEntry
from hivemind.models.diagnosis import Diagnosis

__all__ = ["UNKNOWN", "Diagnosis", "Match", "Rule", "catalogue", "closest_rules", "diagnose_error", "get_rule",
           "matches", "rule_ids"]

UNKNOWN = "unknown"
CLOSEST = 3
GENERIC_REMEDIATION = "See `hivemind logs <id>` for the full output, fix the cause and `hivemind retry <id>`."
_log = logging.getLogger(__name__)

# Words too common in errors to tell rules apart.
_STOP = frozenset(
    ["the", "and", "for", "not", "with", "was", "has", "have", "from", "this", "that", "into", "are", "but", "you", "your", "its", "app", "any", "all", "can", "could", "did", "does", "failed", "failure", "error", "errors", "http", "https", "www", "com", "org"]
)


def matches(error: ErrorEntry) -> list[Match]:
    """Every rule's match for ``error``, best first. A rule that raises is skipped (and logged)."""
    found = []
    for rule in catalogue():
        try:
            match = rule.match(error)
        except Exception:  # noqa: BLE001 - one faulty rule must not stop the diagnosis
            _log.exception("diagnosis rule %s failed on a %s error", rule.id, error.type)
            continue
        if match is not None:
            found.append(match)
    return sorted(found, key=rank)


def diagnose_error(error: ErrorEntry) -> Diagnosis:
    """The diagnosis of one error: the best-ranked match, or ``unknown`` with the closest rules."""
    found = matches(error)
    if found:
        best = found[0]
        return Diagnosis(
            rule=best.rule.id,
            summary=best.summary,
            evidence=list(best.evidence),
            remediation=best.rule.remediation,
            fix=best.fix,
            confidence=best.confidence,
            facts=best.facts,
        )
    return Diagnosis(
        rule=UNKNOWN,
        summary=f"no known cause for this {error.type} in stage {error.stage}",
        evidence=fallback_evidence(error),
        remediation=error.remediation or GENERIC_REMEDIATION,
        closest=closest_rules(error),
    )


def tokens(text: str) -> set[str]:
    """Lowercase words of 3+ letters, with CamelCase, snake_case and kebab-case split apart."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return {w for w in re.findall(r"[a-z][a-z0-9]{2,}", spaced.lower()) if w not in _STOP}


def rule_tokens(rule: Rule) -> set[str]:
    """A rule's vocabulary: its id, title, signatures, stages and the literal words of its patterns."""
    literal = " ".join(re.sub(r"\\[a-zA-Z]|\(\?[^)]*\)|[^A-Za-z0-9_ .'-]", " ", p) for p in rule.patterns)
    return tokens(" ".join([rule.id, rule.title, *rule.signatures, *rule.weak_signatures, *rule.stages, literal]))


def closest_rules(error: ErrorEntry, n: int = CLOSEST) -> list[str]:
    """The ``n`` rules whose vocabulary overlaps the error's words most.

    Similarity is the Ochiai coefficient of the two word sets, |E ∩ R| / sqrt(|E| · |R|), where E
    holds the words of the error's type, stage, message and output tail and R a rule's words
    (``rule_tokens``). Ties go to the more specific rule (lower priority), then the id.
    """
    words = tokens(" ".join([error.type, error.stage, *error_lines(error)]))

    def score(rule: Rule) -> float:
        vocab = rule_tokens(rule)
        if not words or not vocab:
            return 0.0
        return len(words & vocab) / math.sqrt(len(words) * len(vocab))

    ranked = sorted(catalogue(), key=lambda r: (-score(r), r.priority, r.id))
    return [r.id for r in ranked[:n]]
