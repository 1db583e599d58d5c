"""SSM documents run on the application's instances: install-release and harden.

Their content (schemaVersion 2.2, aws:runShellScript, strict allowedPattern per parameter) comes
from ``hivemind.scripts.documents``, the same functions the local cloud's agent renders, so AWS
and the local cloud run one script.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks import constants as c


def _document_functions() -> dict[str, Callable[[], dict[str, Any]]]:
    """Import lazily: the documents module reads the .sh scripts next to it at import time."""
    try:
        from hivemind.scripts import documents
    except ImportError as exc:  # pragma: no cover - only while the scripts are being written
        raise RuntimeError(
            "hivemind.scripts.documents is missing; it provides install_document() and "
            "harden_document() (lambdas/hivemind/scripts/documents.py)."
        ) from exc
    return {c.INSTALL_DOCUMENT: documents.install_document, c.HARDEN_DOCUMENT: documents.harden_document}


class SsmDocuments(Construct):
    """One named Command document per script; updates publish a new default version."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.documents: dict[str, ssm.CfnDocument] = {}
        for name, content in _document_functions().items():
            self.documents[name] = ssm.CfnDocument(
                self,
                "".join(p.capitalize() for p in name.split("-")),
                name=name,
                document_type="Command",
                document_format="JSON",
                content=content(),
                update_method="NewVersion",
            )
