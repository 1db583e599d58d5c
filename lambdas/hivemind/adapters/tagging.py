"""Resource Groups Tagging API: what still carries a deployment's tag (proof that nothing is left)."""

from __future__ import annotations

from hivemind import constants
from hivemind.adapters.aws import client


class TaggedResources:
    def __init__(self, region: str | None = None) -> None:
        self.region = region

    def arns(self, deployment_id: str | None = None) -> list[dict[str, str]]:
        """Resources tagged by HiveMind (for one deployment, or all): [{"arn", "deployment_id"}]."""
        tag_filter = {"Key": constants.TAG_DEPLOYMENT_ID}
        if deployment_id:
            tag_filter["Values"] = [deployment_id]  # type: ignore[assignment]
        out: list[dict[str, str]] = []
        paginator = client("resourcegroupstaggingapi", self.region).get_paginator("get_resources")
        for page in paginator.paginate(TagFilters=[tag_filter]):
            for item in page.get("ResourceTagMappingList", []):
                tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
                out.append({"arn": item["ResourceARN"], "deployment_id": tags.get(constants.TAG_DEPLOYMENT_ID, "")})
        return out
