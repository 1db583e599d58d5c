"""Reading a synthesized CloudFormation template: which logical ids a value refers to."""

from __future__ import annotations

from typing import Any


def refs(value: Any) -> set[str]:
    """Logical ids referenced (``Ref`` / ``Fn::GetAtt``) anywhere inside a template value."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for v in value.values():
            found |= refs(v)
    elif isinstance(value, list):
        for v in value:
            found |= refs(v)
    return found
