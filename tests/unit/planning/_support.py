"""Builders shared by the planning tests (plain functions, so hypothesis tests can use them too)."""

from __future__ import annotations

from typing import Any

from hivemind.models import TechStack

LANGUAGES = ("node", "python", "go")
PACKAGE_MANAGERS = {"node": "npm", "python": "pip", "go": "go"}
START = {"node": "node server.js", "python": "gunicorn app:app", "go": "./bin/app"}
PRICED_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")


def make_stack(language: str = "python", database: str | None = None, port: int = 8080, **extra: Any) -> TechStack:
    """A TechStack as the analysis would report it, every finding with a source."""
    fields: dict[str, Any] = {
        "language": language,
        "package_manager": PACKAGE_MANAGERS[language],
        "start_command": START[language],
        "port": port,
        "database": database,
        **extra,
    }
    fields["sources"] = {name: "test:fixture" for name, value in fields.items() if value is not None}
    return TechStack(**fields)


def cert_arn(region: str) -> str:
    return f"arn:aws:acm:{region}:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
