"""HiveMind Janitor logic: who is an orphan, what it costs, the deletion order, partial failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hivemind import constants
from hivemind.logic import orphans as janitor_logic
from hivemind.logic.orphans import (
    DELETE_ORDER,
    Orphan,
    arn_kind,
    delete_orphans,
    deletion_order,
    find_orphans,
    monthly_cost,
    orphan_reason,
    sweep,
)
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus, ErrorEntry
from hivemind.settings import Settings
from hypothesis import given
from hypothesis import strategies as st

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
A = "arn:aws:{svc}:us-east-1:123456789012:{res}"

ARNS_BY_KIND = {
    "autoscaling:autoScalingGroup": A.format(svc="autoscaling", res="autoScalingGroup:u-1:autoScalingGroupName/g"),
    "ec2:instance": A.format(svc="ec2", res="instance/i-1"),
    "elasticloadbalancing:listener": A.format(svc="elasticloadbalancing", res="listener/app/lb/1/2"),
    "elasticloadbalancing:targetgroup": A.format(svc="elasticloadbalancing", res="targetgroup/tg/1"),
    "elasticloadbalancing:loadbalancer": A.format(svc="elasticloadbalancing", res="loadbalancer/app/lb/1"),
    "rds:db": A.format(svc="rds", res="db:mydb"),
    "rds:subgrp": A.format(svc="rds", res="subgrp:g"),
    "ec2:natgateway": A.format(svc="ec2", res="natgateway/nat-1"),
    "ec2:elastic-ip": A.format(svc="ec2", res="elastic-ip/eipalloc-1"),
    "ec2:security-group": A.format(svc="ec2", res="security-group/sg-1"),
    "ec2:subnet": A.format(svc="ec2", res="subnet/subnet-1"),
    "ec2:route-table": A.format(svc="ec2", res="route-table/rtb-1"),
    "ec2:internet-gateway": A.format(svc="ec2", res="internet-gateway/igw-1"),
    "ec2:vpc": A.format(svc="ec2", res="vpc/vpc-1"),
    "secretsmanager:secret": A.format(svc="secretsmanager", res="secret:db-AbCdEf"),
    "cloudwatch:alarm": A.format(svc="cloudwatch", res="alarm:cpu-high"),
    "logs:log-group": A.format(svc="logs", res="log-group:/hivemind/app:*"),
    "ssm:parameter": A.format(svc="ssm", res="parameter/hivemind/app/url"),
    "s3:bucket": "arn:aws:s3:::my-bucket",
}
# (must go before, must go after): the dependencies the brief and AWS impose.
DEPENDENCIES = [
    ("autoscaling:autoScalingGroup", "ec2:instance"),
    ("ec2:instance", "ec2:security-group"),
    ("elasticloadbalancing:listener", "elasticloadbalancing:loadbalancer"),
    ("elasticloadbalancing:loadbalancer", "elasticloadbalancing:targetgroup"),  # its untagged listeners go with it
    ("elasticloadbalancing:loadbalancer", "ec2:security-group"),
    ("rds:db", "ec2:security-group"),
    ("rds:db", "rds:subgrp"),
    ("rds:subgrp", "ec2:subnet"),
    ("ec2:natgateway", "ec2:elastic-ip"),
    ("ec2:natgateway", "ec2:subnet"),
    ("ec2:security-group", "ec2:vpc"),
    ("ec2:subnet", "ec2:vpc"),
    ("ec2:route-table", "ec2:vpc"),
    ("ec2:internet-gateway", "ec2:vpc"),
    ("ec2:instance", "ec2:subnet"),
]


# --- fakes of the ports (this module tests the logic alone) -----------------------------------------
class FakeStore:
    def __init__(self, *states: DeploymentState) -> None:
        self.states = {s.id: s for s in states}
        self.finds = 0

    def find(self, deployment_id: str) -> DeploymentState | None:
        self.finds += 1
        return self.states.get(deployment_id)


class FakeTagged:
    def __init__(self, resources: list[tuple[str, str]]) -> None:
        self.resources = resources

    def arns(self, deployment_id: str | None = None) -> list[dict[str, str]]:
        return [{"arn": a, "deployment_id": d} for a, d in self.resources if deployment_id in (None, d)]


class FakeEvents:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        self.published.append((detail_type, detail))


class RecordingJanitor:
    """Deletes by recording; ``fail`` maps an ARN to how many attempts fail (-1: always)."""

    def __init__(self, facts: dict[str, dict[str, Any]] | None = None, fail: dict[str, int] | None = None,
                 gone: set[str] | None = None) -> None:
        self.facts = facts or {}
        self.fail = dict(fail or {})
        self.gone = gone or set()
        self.calls: list[str] = []

    def describe(self, arn: str) -> dict[str, Any]:
        if arn == "boom":
            raise RuntimeError("describe exploded")
        return self.facts.get(arn, {})

    def delete(self, arn: str) -> bool:
        self.calls.append(arn)
        left = self.fail.get(arn, 0)
        if left:
            self.fail[arn] = left - 1 if left > 0 else -1
            raise ClientError({"Error": {"Code": "DependencyViolation", "Message": f"{arn} has a dependent"}},
                              "Delete")
        return arn not in self.gone


def ports_with(store: FakeStore, tagged: FakeTagged, janitor: RecordingJanitor, **settings: Any) -> Ports:
    return Ports(settings=Settings(**settings), store=store, events=FakeEvents(), objects=None, stacks=None,
                 commands=None, fleet=None, probe=None, repos=None, tagged=tagged, extra={"janitor": janitor})


def failed(dep_id: str, at: datetime) -> DeploymentState:
    err = ErrorEntry(deployment_id=dep_id, at=at, stage="deploy", type="CommandFailed", message="m",
                     remediation="r")
    return DeploymentState(id=dep_id, repo="r", status=DeploymentStatus.FAILED, error=err)


# --- who is an orphan --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, "unknown deployment"),
        (DeploymentState(id="d", repo="r", status=DeploymentStatus.DESTROYED), "deployment destroyed"),
        (failed("d", NOW - timedelta(hours=25)), "failed past its cleanup timer"),
        (failed("d", NOW - timedelta(hours=23)), None),
        (DeploymentState(id="d", repo="r", status=DeploymentStatus.SUCCEEDED), None),
        (DeploymentState(id="d", repo="r", status=DeploymentStatus.ROLLED_BACK), None),
        (DeploymentState(id="d", repo="r", status=DeploymentStatus.DESTROYING), None),
        (DeploymentState(id="d", repo="r", status=DeploymentStatus.DEPLOYING), None),
    ],
)
def test_orphan_reason(state: DeploymentState | None, expected: str | None) -> None:
    reason = orphan_reason(state, 24, NOW)
    if expected is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(expected)


def test_failed_without_error_entry_counts_from_its_last_update() -> None:
    state = DeploymentState(id="d", repo="r", status=DeploymentStatus.FAILED, updated_at=NOW - timedelta(hours=2))
    assert orphan_reason(state, 1, NOW) is not None
    assert orphan_reason(state, 3, NOW) is None


@pytest.mark.parametrize(("kind", "arn"), sorted(ARNS_BY_KIND.items()))
def test_arn_kind(kind: str, arn: str) -> None:
    assert arn_kind(arn) == kind


def test_find_orphans_lists_reasons_and_skips_live_and_snapshots() -> None:
    store = FakeStore(
        DeploymentState(id="gone-1", repo="r", status=DeploymentStatus.DESTROYED),
        DeploymentState(id="live-1", repo="r", status=DeploymentStatus.SUCCEEDED),
        failed("old-1", NOW - timedelta(hours=3)),
        failed("new-1", NOW - timedelta(minutes=10)),
    )
    tagged = FakeTagged([
        (ARNS_BY_KIND["ec2:instance"], "gone-1"),
        (ARNS_BY_KIND["ec2:vpc"], "gone-1"),
        (A.format(svc="ec2", res="instance/i-live"), "live-1"),
        (ARNS_BY_KIND["secretsmanager:secret"], "old-1"),
        (A.format(svc="ec2", res="security-group/sg-new"), "new-1"),
        (ARNS_BY_KIND["ec2:security-group"], "ghost-1"),
        (A.format(svc="rds", res="snapshot:mydb-final"), "gone-1"),
    ])
    ports = ports_with(store, tagged, RecordingJanitor(), cleanup_timer_hours=1)
    found = find_orphans(ports, NOW)
    assert [(o.deployment_id, o.reason.split(" (")[0], o.kind) for o in found] == [
        ("gone-1", "deployment destroyed", "ec2:instance"),
        ("gone-1", "deployment destroyed", "ec2:vpc"),
        ("old-1", "failed past its cleanup timer", "secretsmanager:secret"),
        ("ghost-1", "unknown deployment", "ec2:security-group"),
    ]
    assert store.finds == 5  # one lookup per deployment, not per resource


# --- what it costs -----------------------------------------------------------------------------------
def test_cost_of_an_instance_comes_from_the_plan_price_table() -> None:
    # t4g.micro: 0.0084 $/h x 730 h = 6.132; 8 GB gp3 x 0.08 = 0.64  ->  6.77
    usd, note = monthly_cost("ec2:instance", {"instance_type": "t4g.micro", "volume_gb": 8, "state": "running"},
                             "us-east-1")
    assert usd == pytest.approx(6.77) and "t4g.micro" in note
    eu, _ = monthly_cost("ec2:instance", {"instance_type": "t4g.micro", "volume_gb": 8}, "eu-west-1")
    assert eu > usd  # the region's own prices


def test_cost_of_a_database_and_a_secret() -> None:
    # db.t4g.micro postgres single-AZ 0.016 x 730 = 11.68; 20 GB x 0.115 = 2.30 -> 13.98
    usd, _ = monthly_cost("rds:db", {"engine": "postgres", "instance_class": "db.t4g.micro", "multi_az": False,
                                     "storage_gb": 20}, "us-east-1")
    assert usd == pytest.approx(13.98)
    assert monthly_cost("secretsmanager:secret", {}, "us-east-1")[0] == pytest.approx(0.40)


@pytest.mark.parametrize(
    ("kind", "facts", "says"),
    [
        ("ec2:vpc", {}, "has no price"),
        ("ec2:instance", {"instance_type": "t3.micro", "volume_gb": 8}, "no price for"),
        ("ec2:instance", {"instance_type": "t4g.micro", "state": "terminated"}, "terminated"),
        ("ec2:volume", {"size_gb": 8, "state": "in-use"}, "with its instance"),
        ("ec2:security-group", {"gone": True}, "already gone"),
    ],
)
def test_unpriced_resources_cost_zero_and_say_why(kind: str, facts: dict[str, Any], says: str) -> None:
    usd, note = monthly_cost(kind, facts, "us-east-1")
    assert usd == 0.0 and note.startswith("$0") and says in note


def test_a_describe_error_does_not_break_the_listing() -> None:
    ports = ports_with(FakeStore(), FakeTagged([("boom", "ghost-2")]), RecordingJanitor())
    [orphan] = find_orphans(ports, NOW)
    assert orphan.monthly_usd == 0 and "could not describe" in orphan.cost_note


# --- deletion order ----------------------------------------------------------------------------------
@given(st.permutations(sorted(ARNS_BY_KIND)))
def test_deletion_order_respects_every_dependency(kinds: list[str]) -> None:
    listed = [Orphan(arn=ARNS_BY_KIND[k], deployment_id="d", reason="x", kind=k) for k in kinds]
    ordered = [o.kind for o in deletion_order(listed)]
    for first, then in DEPENDENCIES:
        assert ordered.index(first) < ordered.index(then), (first, then, ordered)


def test_every_ordered_kind_appears_once() -> None:
    flat = [k for rank in DELETE_ORDER for k in rank]
    assert len(flat) == len(set(flat))


def test_delete_goes_on_after_failures_and_reports_them() -> None:
    kinds = ["ec2:vpc", "secretsmanager:secret", "ec2:security-group", "ec2:instance", "ec2:subnet"]
    listed = [Orphan(arn=ARNS_BY_KIND[k], deployment_id="d", reason="x", kind=k) for k in kinds]
    sg, vpc, secret = ARNS_BY_KIND["ec2:security-group"], ARNS_BY_KIND["ec2:vpc"], ARNS_BY_KIND["secretsmanager:secret"]
    janitor = RecordingJanitor(fail={sg: 1, vpc: -1}, gone={secret})
    report = delete_orphans(listed, ports_with(FakeStore(), FakeTagged([]), janitor))
    first_pass = janitor.calls[:5]
    assert first_pass == [ARNS_BY_KIND[k] for k in
                          ("ec2:instance", "ec2:security-group", "ec2:subnet", "ec2:vpc", "secretsmanager:secret")]
    assert janitor.calls[5:] == [sg, vpc]  # one more try for what failed, in the same order
    assert report.deleted == [ARNS_BY_KIND["ec2:instance"], ARNS_BY_KIND["ec2:subnet"], secret, sg]
    assert report.already_gone == [secret]
    assert [(f.arn, f.error.split(":")[0]) for f in report.failed] == [(vpc, "DependencyViolation")]


def test_an_unexpected_exception_is_recorded_not_raised() -> None:
    class Exploding(RecordingJanitor):
        def delete(self, arn: str) -> bool:
            raise ValueError(f"cannot parse {arn}")

    listed = [Orphan(arn="arn:aws:foo:us-east-1:1:thing/x", deployment_id="d", reason="x")]
    report = delete_orphans(listed, ports_with(FakeStore(), FakeTagged([]), Exploding()))
    assert report.deleted == [] and report.failed[0].error.startswith("ValueError: cannot parse")


# --- the sweep ---------------------------------------------------------------------------------------
def _sweep_ports(**settings: Any) -> tuple[Ports, RecordingJanitor]:
    inst = ARNS_BY_KIND["ec2:instance"]
    janitor = RecordingJanitor(facts={inst: {"instance_type": "t4g.nano", "volume_gb": 0}})
    tagged = FakeTagged([(inst, "ghost-3"), (ARNS_BY_KIND["secretsmanager:secret"], "ghost-3")])
    return ports_with(FakeStore(), tagged, janitor, **settings), janitor


def test_sweep_lists_and_emits_count_and_cost_without_deleting() -> None:
    ports, janitor = _sweep_ports()
    result = sweep(ports, now=NOW)
    # t4g.nano 0.0042 x 730 = 3.066 -> 3.07; secret 0.40
    assert result.count == 2 and result.monthly_usd == pytest.approx(3.47)
    assert result.deleted is None and janitor.calls == []
    [(detail_type, detail)] = ports.events.published
    assert detail_type == constants.EV_ORPHANS
    assert detail["count"] == 2 and detail["monthly_usd"] == pytest.approx(3.47) and "deleted" not in detail


def test_sweep_deletes_when_the_setting_says_so() -> None:
    ports, janitor = _sweep_ports(sweep_delete=True)
    result = sweep(ports, now=NOW)
    assert result.deleted == janitor.calls == [ARNS_BY_KIND["ec2:instance"], ARNS_BY_KIND["secretsmanager:secret"]]
    assert ports.events.published[0][1]["deleted"] == 2


def test_sweep_with_nothing_found_is_silent() -> None:
    ports = ports_with(FakeStore(), FakeTagged([]), RecordingJanitor())
    assert sweep(ports, now=NOW).count == 0 and ports.events.published == []


def test_the_aws_janitor_is_used_when_none_is_given() -> None:
    ports = ports_with(FakeStore(), FakeTagged([]), RecordingJanitor())
    ports.extra.clear()
    from hivemind.adapters.janitor import ResourceJanitor

    assert isinstance(janitor_logic._janitor(ports), ResourceJanitor)
