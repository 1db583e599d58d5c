"""Synthesize the control plane once per session: in-process (for assertions) and with the CLI.

Both syntheses need no AWS credentials and no Docker. The in-process one uses the same
``stacks.create_app`` as app.py, with cdk.json's context, so the two agree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii prints a banner about Node 20's end of life on every start; it is not a test finding.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Synth:
    """One in-process synthesis: the assembly, the stack's template and its messages."""

    outdir: Path
    stack: Any
    assembly: Any
    template: Any  # aws_cdk.assertions.Template
    template_json: dict[str, Any]
    messages: list[tuple[str, str, str]]  # (level, construct path, text)

    def resources(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template_json["Resources"].items() if v["Type"] == cfn_type}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from aws_cdk.assertions import Template

    from stacks import create_app

    outdir = tmp_path_factory.mktemp("cdk-out")
    app, stack = create_app(outdir=str(outdir))
    assembly = app.synth()
    artifact = assembly.get_stack_by_name(stack.stack_name)
    messages = [(str(m.level).rsplit(".", 1)[-1], m.id, str(m.entry.data)) for m in artifact.messages]
    template_json = json.loads((outdir / artifact.template_file).read_text())
    return Synth(outdir, stack, assembly, Template.from_stack(stack), template_json, messages)


@dataclass
class CliSynth:
    result: subprocess.CompletedProcess[str]
    outdir: Path


@pytest.fixture(scope="session")
def cli_synth(tmp_path_factory: pytest.TempPathFactory) -> CliSynth:
    """`cdk synth --quiet` exactly as a user runs it from the repository root."""
    cdk = shutil.which("cdk")
    if cdk is None:
        pytest.fail("the cdk CLI is not on PATH (npm install -g aws-cdk)")
    outdir = tmp_path_factory.mktemp("cdk-cli-out")
    # No credentials at all: with any, the CLI would ask STS for the default account. Without
    # them (and with the instance-metadata lookup disabled) it never leaves this machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_DEFAULT_"))}
    env.update({
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(outdir / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(outdir / "no-aws-credentials"),
    })
    result = subprocess.run(
        [cdk, "synth", "--quiet", "--no-notices", "--output", str(outdir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    return CliSynth(result, outdir)
