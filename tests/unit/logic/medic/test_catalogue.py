"""The catalogue: one rule per file, unique ids, the ids other work relies on, every signature owned."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest
from hivemind import errors
from hivemind.logic import deploy, verify
from hivemind.logic.medic import catalogue, rule_ids
from hivemind.logic.medic import rules as rules_package
from hivemind.logic.medic.rule import Rule
from hivemind.scripts.documents import ERROR_KINDS

# Fixed ids (issue 5's Medic section and the fault-injection suite assert on them).
REQUIRED = {
    "dependency-install-failed", "build-failed", "missing-start-script", "module-not-found", "app-exited",
    "wrong-port", "binds-localhost", "port-in-use", "health-404", "health-5xx", "health-timeout",
    "db-connection-refused", "db-auth-failed", "stack-limit-exceeded", "stack-access-denied",
    "instance-type-unavailable", "stack-name-exists", "stack-rollback-failed", "ssm-not-registered",
    "command-timed-out", "throttled", "task-timed-out", "task-crashed", "execution-interrupted",
    "repository-unreachable", "unsupported-stack", "budget-exceeded", "invalid-input",
}
# Signatures that say only "it failed": left to the unknown diagnosis (evidence + closest rules).
GENERIC = {"command_failed"}
# HiveMind error types that never reach a deployment's error (state bookkeeping, retried in place).
NOT_DEPLOYMENT_FAILURES = {"HiveMindError", "IllegalTransition", "ConcurrentModification", "DeploymentNotFound"}


def _modules() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(rules_package.__path__) if not m.name.startswith("_")]


def test_every_rule_file_defines_one_rule_with_a_unique_id_and_a_remediation() -> None:
    ids = []
    for name in _modules():
        module = importlib.import_module(f"{rules_package.__name__}.{name}")
        assert isinstance(module.RULE, Rule), name
        assert [v for v in vars(module).values() if isinstance(v, Rule)] == [module.RULE], f"{name}: one rule per file"
        assert module.RULE.id.replace("-", "_") == name
        assert len(module.RULE.remediation) > 40 and module.RULE.title, name
        ids.append(module.RULE.id)
    assert len(ids) == len(set(ids)) == len(catalogue())


def test_the_required_rule_ids_exist() -> None:
    assert set(rule_ids()) >= REQUIRED, REQUIRED - set(rule_ids())


def test_catalogue_is_ordered_by_priority_and_priorities_are_unique() -> None:
    priorities = [r.priority for r in catalogue()]
    assert priorities == sorted(priorities)
    assert len(set(priorities)) == len(priorities), "equal priorities would make the order depend on names"


def test_every_pattern_compiles_and_every_rule_can_match_something() -> None:
    for rule in catalogue():
        assert rule.patterns, rule.id
        assert rule.signatures or rule.weak_signatures or rule.applies, f"{rule.id}: nothing can give it a signature"


def _emitted_signatures() -> set[str]:
    """Every signature the pipeline sets: the install/stop/harden scripts' kinds, deploy's and verify's."""
    found = set(ERROR_KINDS)
    found |= set(re.findall(r'"signature": "([a-z_]+)"', Path(inspect.getsourcefile(deploy)).read_text()))
    found |= {"command_timed_out", "command_failed"}  # deploy._command_error's fallbacks
    for status in (None, 404, 500, 502, 503):
        for targets in ([], [{"state": "healthy"}], [{"state": "unhealthy"}]):
            found.add(verify._signature(status, targets))
    return found


def test_every_signature_the_pipeline_emits_has_a_rule() -> None:
    signatures = _emitted_signatures()
    assert {"port_mismatch", "ssm_not_registered", "health_404", "no_healthy_targets"} <= signatures
    owned = {s for s in signatures if any(r.owns([s]) for r in catalogue())}  # decides alone, without text
    assert signatures - owned == GENERIC


def test_every_hivemind_error_type_has_a_rule() -> None:
    types = {name for name, cls in vars(errors).items()
             if isinstance(cls, type) and issubclass(cls, errors.HiveMindError)} - NOT_DEPLOYMENT_FAILURES
    from hivemind.models import ErrorEntry

    def claimed(name: str) -> bool:
        entry = ErrorEntry(deployment_id="d", stage="deploy", type=name, message="", remediation="r")
        return any(r.owns([name]) or r.owns([name], weak=True) or (r.applies and r.applies(entry))
                   for r in catalogue())

    assert {t for t in types if not claimed(t)} == set()


@pytest.mark.parametrize("bad", [
    {"id": "Bad_Id"}, {"remediation": " "}, {"fixable": True}, {"patterns": ("(unclosed",)},
])
def test_a_malformed_rule_is_refused(bad: dict) -> None:
    fields = {"id": "ok-rule", "title": "t", "stages": (), "signatures": ("x",), "patterns": ("x",),
              "remediation": "do this"} | bad
    with pytest.raises((ValueError, re.error)):
        Rule(**fields)
