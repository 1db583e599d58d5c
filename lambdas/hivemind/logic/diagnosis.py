"""Kept for importers of the first rule table: the diagnosis now lives in ``hivemind.logic.medic``."""

from __future__ import annotations

from hivemind.logic.medic import diagnose_error
from hivemind.models.diagnosis import Diagnosis

__all__ = ["Diagnosis", "diagnose_error"]
