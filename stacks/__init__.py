"""The control plane's CDK app: one stack composed of one construct per concern.

``create_app`` is what ``app.py`` and the infrastructure tests both call, so the CLI synth and the
in-process synth build exactly the same thing (same context, same cdk-nag checks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stacks.constants import CONTROL_PLANE_STACK, ROOT


def cdk_json_context(root: Path = ROOT) -> dict[str, Any]:
    """The ``context`` block of cdk.json (feature flags and HiveMind settings)."""
    return json.loads((root / "cdk.json").read_text())["context"]


def create_app(outdir: str | None = None, context: dict[str, Any] | None = None):
    """Build the App with the control-plane stack and cdk-nag's AwsSolutions checks applied.

    Returns ``(app, stack)``. Imports CDK lazily so ``import stacks`` stays cheap.
    """
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from stacks.control_plane_stack import ControlPlaneStack

    kwargs: dict[str, Any] = {}
    if outdir is not None:
        kwargs["outdir"] = outdir
        # The CLI passes cdk.json's context itself; in-process we read it the same way.
        kwargs["context"] = {**cdk_json_context(), **(context or {})}
    elif context:
        kwargs["context"] = context
    app = cdk.App(**kwargs)
    stack = ControlPlaneStack(
        app,
        CONTROL_PLANE_STACK,
        description="HiveMind control plane: deploys web apps from Git repositories to AWS.",
    )
    cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return app, stack
