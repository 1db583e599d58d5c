"""docs/architecture.md: its diagrams are generated, and the committed ones are current."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType

from stacks.constants import ROOT


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_architecture", ROOT / "docs" / "gen_architecture.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_diagrams_are_up_to_date(synth) -> None:
    gen = _generator()
    deploy_asl = json.loads((ROOT / "statemachine" / "deploy.asl.json").read_text())
    text = (ROOT / "docs" / "architecture.md").read_text()
    expected = gen.replace_block(text, gen.render_block(deploy_asl, synth.template_json))
    assert text == expected, "docs/architecture.md is stale: run `python docs/gen_architecture.py`"


def test_state_graph_has_every_state_and_transition() -> None:
    gen = _generator()
    asl = json.loads((ROOT / "statemachine" / "deploy.asl.json").read_text())
    graph = gen.state_graph(asl)
    for name, state in asl["States"].items():
        assert f"\n    {gen._sid(name)}" in graph, name
        for target in [state.get("Next"), state.get("Default"),
                       *(c["Next"] for c in state.get("Choices", [])), *(c["Next"] for c in state.get("Catch", []))]:
            if target:
                assert f"| {gen._sid(target)}" in graph or f"--> {gen._sid(target)}" in graph, (name, target)


def test_resource_graph_follows_the_template(synth) -> None:
    graph = _generator().resource_graph(synth.template_json)
    assert 'rest_api -->|"proxies"| fn_hivemind_api' in graph
    assert 'sm_hivemind_retry -->|"starts"| sm_hivemind_deploy' in graph
    assert 'fn_hivemind_provision -->|"passes role"| cfn_role' in graph
    assert 'rule_hivemind_daily_sweep -->|"targets"| sm_hivemind_sweep' in graph
    assert 'sm_hivemind_sweep -->|"invokes"| fn_hivemind_sweep' in graph
    assert 'fn_hivemind_verify -->|"passes role"|' not in graph
