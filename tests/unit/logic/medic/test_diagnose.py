"""diagnose_error: the ranking, the unknown diagnosis with its closest rules, and never raising."""

from __future__ import annotations

import string

from hivemind.logic.medic import UNKNOWN, closest_rules, diagnose_error, matches, rule_ids
from hivemind.models import Diagnosis, ErrorEntry
from hypothesis import given, settings
from hypothesis import strategies as st

from ._errors import command, output, script


def _entry(type_: str, message: str, stage: str = "deploy", **context) -> ErrorEntry:
    return ErrorEntry(deployment_id="d-1", stage=stage, type=type_, message=message, context=context, remediation="r")


def test_a_signature_match_beats_a_pattern_match() -> None:
    # pip's words match dependency-install-failed by pattern, but the stage named a health timeout
    err = command(script("health_check_failed", "nothing answered at http://127.0.0.2:8000/ within 60s",
                         output("pip.txt")))
    found = [m.rule.id for m in matches(err)]
    assert "dependency-install-failed" in found
    assert diagnose_error(err).rule == "health-timeout"
    assert diagnose_error(err).confidence == "signature"


def test_the_more_specific_rule_wins_among_signature_matches() -> None:
    err = command(script("app_exited", "the app exited with status 1", output("py-mnf.txt")))
    found = [m.rule.id for m in matches(err)]
    assert found[:2] == ["module-not-found", "app-exited"]


def test_a_pattern_only_match_is_reported_as_such() -> None:
    diagnosis = diagnose_error(command(output("pip.txt")))
    assert (diagnosis.rule, diagnosis.confidence) == ("dependency-install-failed", "pattern")


def test_unknown_failure_keeps_the_evidence_and_names_the_closest_rules() -> None:
    err = _entry("CommandFailed", "the release tarball checksum differs from the manifest", stage="deploy",
                 signature="command_failed",
                 output_tail=["[hivemind] fetching release r-3", "sha256 mismatch for r-3.tar.gz"])
    diagnosis = diagnose_error(err)
    assert diagnosis.rule == UNKNOWN and diagnosis.confidence is None and not diagnosis.fixable
    assert diagnosis.evidence[0] == err.message and "sha256 mismatch for r-3.tar.gz" in diagnosis.evidence
    assert len(diagnosis.closest) == 3 and set(diagnosis.closest) <= set(rule_ids())
    assert diagnosis.remediation == "r"  # the recorded error's own remediation


def test_a_foreign_exception_type_is_a_crashed_task_not_unknown() -> None:
    assert diagnose_error(_entry("Weird", "nothing known")).rule == "task-crashed"


def test_closest_rules_follow_the_words_of_the_error() -> None:
    health = _entry("Odd", "the health path kept answering slowly through the load balancer", stage="verify")
    assert closest_rules(health)[0].startswith("health-")
    stack = _entry("Odd", "stack rollback of the deleted resource in provision", stage="provision")
    assert "stack-rollback-failed" in closest_rules(stack)
    assert closest_rules(health) != closest_rules(stack)


def test_the_old_module_still_answers() -> None:
    from hivemind.logic.diagnosis import diagnose_error as old

    assert old(command(output("install-wrong-port.txt"))).rule == "wrong-port"


# --- never raises ------------------------------------------------------------------------------
KNOWN_TYPES = ["CommandFailed", "CommandTimeout", "HealthCheckFailed", "StackFailed", "States.Timeout",
               "Sandbox.Timedout", "TransientError", "KeyError", "Lambda.Unknown", "ExecutionInterrupted",
               "InvalidInput", "ClientError", "Runtime.ExitError"]
KNOWN_SIGNATURES = ["app_exited", "port_mismatch", "bind_mismatch", "health_404", "health_5xx", "health_timeout",
                    "dependency_install_failed", "command_failed", "ssm_not_registered", "no_healthy_targets"]
text = st.text(alphabet=string.printable + "é→\x00", max_size=300)
context_value = st.one_of(st.none(), text, st.integers(), st.lists(text, max_size=5),
                          st.lists(st.dictionaries(st.sampled_from(["logical_id", "type", "status", "reason"]), text),
                                   max_size=3))


@settings(max_examples=300, deadline=None)
@given(
    type_=st.one_of(st.sampled_from(KNOWN_TYPES), st.text(max_size=40)),
    stage=st.one_of(st.sampled_from(["validate", "analyze", "plan", "provision", "deploy", "harden", "verify"]),
                    st.text(max_size=12)),
    message=text,
    signature=st.one_of(st.none(), st.sampled_from(KNOWN_SIGNATURES), text),
    tail=st.one_of(st.none(), text, st.lists(text, max_size=30)),
    extra=st.dictionaries(st.sampled_from(["events", "status", "last_reason", "last_error", "last_body"]),
                          context_value, max_size=5),
)
def test_diagnose_error_never_raises_and_always_names_a_rule(type_, stage, message, signature, tail, extra) -> None:
    context = {**extra, "signature": signature, "output_tail": tail}
    err = ErrorEntry(deployment_id="d-1", stage=stage, type=type_, message=message, context=context, remediation="r")
    diagnosis = diagnose_error(err)
    assert isinstance(diagnosis, Diagnosis)
    assert diagnosis.rule in {*rule_ids(), UNKNOWN}
    assert 1 <= len(diagnosis.evidence) <= 5
    assert diagnosis.remediation
    assert (diagnosis.rule == UNKNOWN) == (len(diagnosis.closest) == 3)
    assert diagnosis.fixable == (diagnosis.fix is not None)
