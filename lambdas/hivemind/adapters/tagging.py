"""Resource Groups Tagging API: what still carries a deployment's tag (proof that nothing is left)."""

from __future__ import annotations

from hivemind import constants
from hivemind.adapters.aws import client


class TaggedResources:
    def __init__(self, region: str | None = None) -> None:
        self.region = region

    def arns(self, deployment_id: str | None = None) -> list[dict[str, str]]:
        """Live resources tagged by HiveMind (for one deployment, or all): [{"arn", "deployment_id"}]."""
        tag_filter = {"Key": constants.TAG_DEPLOYMENT_ID}
        if deployment_id:
            tag_filter["Values"] = [deployment_id]  # type: ignore[assignment]
        out: list[dict[str, str]] = []
        paginator = client("resourcegroupstaggingapi", self.region).get_paginator("get_resources")
        for page in paginator.paginate(TagFilters=[tag_filter]):
            for item in page.get("ResourceTagMappingList", []):
                tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
                out.append({"arn": item["ResourceARN"], "deployment_id": tags.get(constants.TAG_DEPLOYMENT_ID, "")})
        return [r for r in out if r["arn"] not in self._terminated_instances(out)]

    def _terminated_instances(self, resources: list[dict[str, str]]) -> set[str]:
        """EC2 keeps terminated instances (and their tags) visible for about an hour; they are gone."""
        ids = {r["arn"].rsplit("/", 1)[-1]: r["arn"] for r in resources if ":instance/" in r["arn"]}
        if not ids:
            return set()
        gone: set[str] = set()
        pages = client("ec2", self.region).get_paginator("describe_instances").paginate(InstanceIds=list(ids))
        for page in pages:
            for reservation in page.get("Reservations", []):
                for inst in reservation.get("Instances", []):
                    if inst.get("State", {}).get("Name") == "terminated":
                        gone.add(ids[inst["InstanceId"]])
        return gone
