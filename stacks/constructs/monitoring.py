"""Monitoring of the control plane: alarms, a dashboard, and an encrypted SNS topic for both.

Alarms: any failed execution of a state machine, any error or throttle of a function, API 5xx.
The topic is encrypted with a customer-managed key because CloudWatch and EventBridge cannot
publish to a topic encrypted with the AWS-managed SNS key.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import constants as c

PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    """``self.topic``, ``self.alarms`` (name -> alarm), ``self.dashboard``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        machines: Mapping[str, sfn.IStateMachine],
        api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "TopicKey", enable_key_rotation=True,
                           description="Encrypts the HiveMind alarm topic.")
        for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
            self.key.add_to_resource_policy(iam.PolicyStatement(
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            ))
        self.topic = sns.Topic(self, "AlarmTopic", topic_name="hivemind-alarms", master_key=self.key,
                               enforce_ssl=True, display_name="HiveMind alarms")
        self.alarms: dict[str, cw.Alarm] = {}
        action = cw_actions.SnsAction(self.topic)

        for workflow, machine in machines.items():
            self._alarm(f"{workflow}-failed", machine.metric_failed(period=PERIOD, statistic="Sum"),
                        f"An execution of {c.state_machine_name(workflow)} failed.", action)
        for task, fn in functions.items():
            self._alarm(f"{task}-errors", fn.metric_errors(period=PERIOD, statistic="Sum"),
                        f"{c.function_name(task)} raised an error.", action)
            self._alarm(f"{task}-throttles", fn.metric_throttles(period=PERIOD, statistic="Sum"),
                        f"{c.function_name(task)} was throttled.", action)
        self._alarm("api-5xx", api.metric_server_error(period=PERIOD, statistic="Sum"),
                    "The HiveMind API returned a 5xx.", action)
        self.dashboard = self._dashboard(functions, machines, api)

    def _alarm(self, name: str, metric: cw.Metric, description: str, action: cw_actions.SnsAction) -> None:
        alarm = metric.create_alarm(
            self,
            f"Alarm-{name}",
            alarm_name=f"hivemind-{name}",
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(action)
        self.alarms[name] = alarm

    def _dashboard(self, functions: Mapping[str, lambda_.IFunction],
                   machines: Mapping[str, sfn.IStateMachine], api: apigw.RestApi) -> cw.Dashboard:
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name="hivemind-control-plane")
        dashboard.add_widgets(
            cw.GraphWidget(title="Executions started / succeeded / failed", width=24, left=[
                m for machine in machines.values() for m in (
                    machine.metric_started(period=PERIOD), machine.metric_succeeded(period=PERIOD),
                    machine.metric_failed(period=PERIOD))]),
        )
        dashboard.add_widgets(
            cw.GraphWidget(title="Task errors", width=12,
                           left=[fn.metric_errors(period=PERIOD) for fn in functions.values()]),
            cw.GraphWidget(title="Task duration (p90)", width=12,
                           left=[fn.metric_duration(period=PERIOD, statistic="p90") for fn in functions.values()]),
        )
        dashboard.add_widgets(
            cw.GraphWidget(title="API requests and errors", width=12,
                           left=[api.metric_count(period=PERIOD), api.metric_client_error(period=PERIOD),
                                 api.metric_server_error(period=PERIOD)]),
            cw.GraphWidget(title="API latency (p90)", width=12,
                           left=[api.metric_latency(period=PERIOD, statistic="p90")]),
        )
        return dashboard
