"""What the analysis found in a repository, with the source of every finding."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Language = Literal["node", "python", "go"]
Database = Literal["postgres", "mysql", "mongodb", "redis"]


class Finding(BaseModel):
    """One detected fact and where it came from (a file, or the rule that supplied a default)."""

    model_config = ConfigDict(frozen=True)

    value: str | int | bool | None
    source: str = Field(description="file[:key] the value was read from, or 'default:<rule>'")


class TechStack(BaseModel):
    """The application as HiveMind understands it.

    ``sources`` maps every non-empty field name to the file or rule it came from, so a user can
    see *why* HiveMind decided something (``hivemind analyze`` prints it).
    """

    language: Language
    framework: str | None = None
    runtime_version: str | None = None
    package_manager: str
    build_command: str | None = None
    start_command: str
    release_command: str | None = None
    port: int = Field(ge=1, le=65535)
    reads_port_env: bool = False
    health_path: str = "/"
    database: Database | None = None
    embedded_database: Literal["sqlite"] | None = None
    env_vars: list[str] = Field(default_factory=list)
    app_dir: str = "."
    sources: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    other_manifests: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _every_finding_has_a_source(self) -> TechStack:
        for name in (
            "language",
            "framework",
            "runtime_version",
            "package_manager",
            "build_command",
            "start_command",
            "release_command",
            "port",
            "database",
            "embedded_database",
        ):
            if getattr(self, name) is not None and name not in self.sources:
                raise ValueError(f"finding {name!r} has no source")
        return self
