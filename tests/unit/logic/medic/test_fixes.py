"""apply_fix: the safe fixes change exactly what they must, return where to resume, and refuse the rest."""

from __future__ import annotations

import pytest
from hivemind.errors import InvalidInput
from hivemind.logic.medic import diagnose_error
from hivemind.logic.medic.fixes import FIXES, apply_fix
from hivemind.models import DeploymentState, TechStack
from hivemind.planning.plan import make_plan
from hivemind.planning.template import build_template

from ._errors import command, output


def _state(port: int = 8000) -> DeploymentState:
    stack = TechStack(language="python", framework="flask", package_manager="pip", start_command="python app.py",
                      port=port, sources={"language": "requirements.txt", "framework": "requirements.txt",
                                          "package_manager": "requirements.txt", "start_command": "Procfile",
                                          "port": "app.py"})
    plan = make_plan(stack, deployment_id="shop-1a2b", app_name="shop")
    return DeploymentState(id="shop-1a2b", repo="https://example.com/shop.git", stack=stack, plan=plan)


def _ports_in_template(state: DeploymentState) -> set[int]:
    template = build_template(state.plan)
    found = set()
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup":
            found.add(props["Port"])
    return found


def test_set_port_from_a_real_wrong_port_diagnosis_moves_every_port_and_resumes_at_provision() -> None:
    before = _state(8000)
    diagnosis = diagnose_error(command(output("install-wrong-port.txt")))
    after, resume = apply_fix(before, diagnosis.fix)
    assert resume == "provision"
    assert after.stack.port == after.plan.port == after.plan.stack.port == 5999
    assert after.stack.sources["port"].startswith("medic:wrong-port")
    assert _ports_in_template(after) == {5999}
    # pure: the input is untouched, everything else is kept
    assert before.stack.port == before.plan.port == 8000 and _ports_in_template(before) == {8000}
    assert after.plan.model_dump(exclude={"port", "stack"}) == before.plan.model_dump(exclude={"port", "stack"})
    assert after.version == before.version and after.id == before.id


def test_set_port_accepts_the_port_as_json_gives_it() -> None:
    after, _ = apply_fix(_state(), {"kind": "set_port", "port": "5000"})
    assert after.plan.port == 5000


@pytest.mark.parametrize(
    ("fix", "says"),
    [
        ({"kind": "rewrite_code"}, "unknown fix kind 'rewrite_code'"),
        ({"port": 5000}, "'kind'"),
        ({"kind": "set_port"}, "needs a port number"),
        ({"kind": "set_port", "port": True}, "needs a port number"),
        ({"kind": "set_port", "port": "50; rm -rf /"}, "needs a port number"),
        ({"kind": "set_port", "port": 0}, "not a TCP port"),
        ({"kind": "set_port", "port": 70000}, "not a TCP port"),
        ({"kind": "set_port", "port": 22}, "SSH"),
    ],
)
def test_bad_fixes_are_refused_with_the_reason(fix: dict, says: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        apply_fix(_state(), fix)
    assert says in str(raised.value)
    assert raised.value.remediation


def test_a_deployment_without_a_plan_cannot_take_a_port_fix() -> None:
    with pytest.raises(InvalidInput, match="no plan yet"):
        apply_fix(DeploymentState(id="shop-1a2b", repo="r"), {"kind": "set_port", "port": 5000})


def test_every_fix_a_rule_can_offer_is_one_apply_fix_knows() -> None:
    from hivemind.logic.medic import catalogue

    for rule in catalogue():
        if rule.fix is not None:
            assert rule.fix({"listening_port": "5999"})["kind"] in FIXES
