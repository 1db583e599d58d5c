"""The Medic's reading of a failed deployment, kept on the deployment item (``DeploymentState.diagnosis``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


class Diagnosis(BaseModel):
    """What went wrong, what HiveMind saw, what to do, and whether HiveMind can fix it itself.

    ``rule`` is a rule id of the catalogue (``hivemind.logic.medic``) or ``"unknown"``; for an
    unknown failure ``closest`` names the rules whose words are nearest to the error's.
    ``auto_fix`` is the older name of ``fix`` and always equals it; ``fixable`` is true exactly when
    there is a fix (a rule that can fix its kind of failure but found no value to use is not fixable).
    """

    rule: str
    summary: str
    evidence: list[str]
    remediation: str
    auto_fix: dict[str, Any] | None = None
    fixable: bool = False
    fix: dict[str, Any] | None = None
    confidence: Literal["signature", "pattern"] | None = Field(
        default=None, description="signature: the failing stage named the failure kind; pattern: only the text matched"
    )
    facts: dict[str, Any] = Field(default_factory=dict, description="values read from the evidence (package, port...)")
    closest: list[str] = Field(default_factory=list)
    llm_reading: str | None = None

    @model_validator(mode="after")
    def _fix_and_auto_fix_agree(self) -> Diagnosis:
        if self.fix is None and self.auto_fix is not None:
            self.fix = self.auto_fix
        self.auto_fix = self.fix
        self.fixable = self.fix is not None  # HiveMind can fix it only when it knows the fix
        return self
