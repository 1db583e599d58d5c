"""Repository analysis: what language, framework, commands, port and database an app has.

``analyze_directory(path)`` runs the pluggable detectors in ``detectors/`` over a read-only view
of the checkout (``files.RepoFiles``) and returns a ``hivemind.models.TechStack``. Cloning lives
in ``hivemind.adapters.repositories`` (the only module that imports GitPython).
"""

from __future__ import annotations

from hivemind.analysis.analyzer import analyze_directory
from hivemind.analysis.source import classify_source, redact, validate_source

__all__ = ["analyze_directory", "classify_source", "redact", "validate_source"]
