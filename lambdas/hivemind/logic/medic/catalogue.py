"""The rule catalogue: every ``rules/<id>.py`` module's ``RULE``, discovered and ranked.

Adding a rule is adding a file: nothing here lists them. Rules are tried in ``priority`` order
(lower = more specific); among all the rules that match, a signature match beats a pattern
match, then the lower priority wins (see ``rank``).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from hivemind.logic.medic import rules as rules_package
from hivemind.logic.medic.rule import Match, Rule


@lru_cache(maxsize=1)
def catalogue() -> tuple[Rule, ...]:
    """All rules, most specific first. Raises ValueError on a module without RULE or a duplicate id."""
    found: dict[str, Rule] = {}
    for info in pkgutil.iter_modules(rules_package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{rules_package.__name__}.{info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise ValueError(f"rule module {module.__name__} must define RULE = Rule(...)")
        if rule.id in found:
            raise ValueError(f"rule id {rule.id!r} is defined twice ({module.__name__})")
        if rule.id.replace("-", "_") != info.name:
            raise ValueError(f"rule {rule.id!r} must live in rules/{rule.id.replace('-', '_')}.py, not {info.name}.py")
        found[rule.id] = rule
    return tuple(sorted(found.values(), key=lambda r: (r.priority, r.id)))


def rule_ids() -> tuple[str, ...]:
    return tuple(rule.id for rule in catalogue())


def get_rule(rule_id: str) -> Rule:
    for rule in catalogue():
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)


def rank(match: Match) -> tuple[int, int, str]:
    """Sort key of a match: signature before pattern, then the more specific (lower priority) rule."""
    return (0 if match.confidence == "signature" else 1, match.rule.priority, match.rule.id)
