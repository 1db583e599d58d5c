#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` run this (see cdk.json).

The app and its cdk-nag checks are built by ``stacks.create_app`` so the infrastructure tests
synthesize exactly the same thing in-process.
"""

from __future__ import annotations

from stacks import create_app


def main() -> None:
    app, _ = create_app()
    app.synth()


if __name__ == "__main__":
    main()
