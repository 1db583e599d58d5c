"""Events: the `hivemind` bus, the audit trail, failure notifications, cleanup timers, daily sweep.

Cleanup timers: the record-failure task creates a one-time EventBridge Scheduler schedule
(``at(now + CLEANUP_TIMER_HOURS)``) in the ``hivemind-cleanup`` group that starts the destroy state
machine with the deployment id. A schedule per failed deployment cannot be a static rule, so this
construct provides what the task needs: the schedule group and the role Scheduler assumes (it may
start the destroy state machine and nothing else). The task may pass only that role.
"""

from __future__ import annotations

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import constants as c
from stacks.permissions import scoped_arn, state_machine_arn

AUDIT_LOG_GROUP = "/aws/events/hivemind-audit"  # EventBridge requires the /aws/events/ prefix
AUDITED_EVENTS = (c.EV_STAGE_CHANGED, c.EV_SUCCEEDED, c.EV_FAILED, c.EV_DESTROYED, c.EV_ORPHANS)


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """A log group as a rule target, with a native AWS::Logs::ResourcePolicy.

    aws_events_targets.CloudWatchLogGroup sets the log group's resource policy through a
    custom-resource Lambda (Node.js, broad role); the native resource does the same without one.
    """

    def __init__(self, log_group_name: str) -> None:
        self._arn = scoped_arn("logs", f"log-group:{log_group_name}")

    def bind(self, rule: events.IRule, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._arn)


class Events(Construct):
    """``self.bus``, ``self.cleanup_role``, ``self.schedule_group``; rules are added by ``wire``."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=c.EVENT_BUS_NAME)
        self.schedule_group = scheduler.CfnScheduleGroup(self, "CleanupGroup", name=c.CLEANUP_SCHEDULE_GROUP)
        self.cleanup_role = iam.Role(
            self,
            "CleanupSchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="Assumed by EventBridge Scheduler: a failed deployment's cleanup timer starts "
                        "the destroy state machine (action destroy) or puts a reminder on the bus (remind).",
            inline_policies={"CleanupTimer": iam.PolicyDocument(statements=[
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[state_machine_arn("destroy")]),
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[self.bus.event_bus_arn]),
            ])},
        )
        self._audit_trail()

    def _audit_trail(self) -> None:
        """Every HiveMind event lands in one log group: the audit trail behind the dashboard."""
        self.audit_log_group = logs.LogGroup(
            self,
            "AuditLogs",
            log_group_name=AUDIT_LOG_GROUP,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.DESTROY,
        )
        logs.ResourcePolicy(
            self,
            "AuditLogsPolicy",
            resource_policy_name="hivemind-audit-events",
            policy_statements=[iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com"),
                            iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.audit_log_group.log_group_arn],
            )],
        )
        self.audit_rule = events.Rule(
            self,
            "AuditRule",
            rule_name="hivemind-audit",
            description="Every HiveMind deployment event to the audit log group.",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[c.EVENT_SOURCE], detail_type=list(AUDITED_EVENTS)),
            targets=[_LogGroupTarget(AUDIT_LOG_GROUP)],
        )
        self.audit_rule.node.add_dependency(self.audit_log_group)

    def wire(self, *, sweep: sfn.IStateMachine, alarm_topic: sns.ITopic) -> None:
        """Rules that need the state machines and the alarm topic (created after the bus)."""
        self.failure_rule = events.Rule(
            self,
            "FailureRule",
            rule_name="hivemind-deployment-failed",
            description="A failed deployment notifies the operators' topic (its cleanup timer is "
                        "scheduled by the record-failure task).",
            event_bus=self.bus,
            event_pattern=events.EventPattern(source=[c.EVENT_SOURCE], detail_type=[c.EV_FAILED]),
            targets=[targets.SnsTopic(alarm_topic)],
        )
        self.sweep_rule = events.Rule(
            self,
            "DailySweep",
            rule_name="hivemind-daily-sweep",
            description="Starts the orphan sweep once a day.",
            schedule=events.Schedule.rate(Duration.days(1)),
            targets=[targets.SfnStateMachine(
                sweep, input=events.RuleTargetInput.from_object({"trigger": "schedule"}))],
        )
