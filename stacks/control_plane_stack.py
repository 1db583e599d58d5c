"""The control-plane stack: it only composes the constructs and publishes the outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks import constants as c
from stacks.constructs.api import Api
from stacks.constructs.artifacts import Artifacts
from stacks.constructs.events import Events
from stacks.constructs.monitoring import Monitoring
from stacks.constructs.provisioning import Provisioning
from stacks.constructs.ssm_documents import SsmDocuments
from stacks.constructs.state import State
from stacks.constructs.tasks import Tasks
from stacks.constructs.workflows import Workflows
from stacks.permissions import Targets


class ControlPlaneStack(Stack):
    """State, artifacts, documents, tasks, workflows, events, API and monitoring of HiveMind."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        state = State(self, "State")
        artifacts = Artifacts(self, "Artifacts")
        SsmDocuments(self, "Documents")
        provisioning = Provisioning(self, "Provisioning")
        events = Events(self, "Events")
        tasks = Tasks(
            self,
            "Tasks",
            targets=Targets(
                table_arn=state.table.table_arn,
                idempotency_table_arn=state.idempotency_table.table_arn,
                bus_arn=events.bus.event_bus_arn,
                bucket_arn=artifacts.bucket.bucket_arn,
                cfn_role_arn=provisioning.cfn_role.role_arn,
                cleanup_role_arn=events.cleanup_role.role_arn,
            ),
            names={
                "table": state.table.table_name,
                "idempotency_table": state.idempotency_table.table_name,
                "bus": events.bus.event_bus_name,
                "bucket": artifacts.bucket.bucket_name,
            },
        )
        workflows = Workflows(self, "Workflows", functions=tasks.functions, bus_arn=events.bus.event_bus_arn)
        api = Api(self, "Api", handler=tasks.functions[c.API_FUNCTION])
        monitoring = Monitoring(self, "Monitoring", functions=tasks.functions, machines=workflows.machines,
                                api=api.rest_api)
        events.wire(sweep=workflows.machines["sweep"], alarm_topic=monitoring.topic)

        CfnOutput(self, c.OUT_API_URL, value=api.url, description="HiveMind API base URL")
        CfnOutput(self, c.OUT_TABLE, value=state.table.table_name, description="Deployments table")
        CfnOutput(self, c.OUT_BUS, value=events.bus.event_bus_name, description="Event bus")
        CfnOutput(self, c.OUT_BUCKET, value=artifacts.bucket.bucket_name, description="Artifacts bucket")
        for workflow, machine in workflows.machines.items():
            CfnOutput(self, c.out_state_machine(workflow), value=machine.state_machine_arn,
                      description=f"{c.state_machine_name(workflow)} state machine")
