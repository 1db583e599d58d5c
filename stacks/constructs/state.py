"""State: the single DynamoDB table of DESIGN.md and the Powertools idempotency table."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as ddb
from constructs import Construct

from stacks import constants as c


class State(Construct):
    """Deployment items, their log/error items and the status GSI; idempotency records.

    Both tables are on-demand (HiveMind's traffic is a few writes per deployment), encrypted with
    the AWS-managed key, with point-in-time recovery, and retained when the stack is deleted:
    deployment history outlives the control plane.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.table = ddb.Table(
            self,
            "Table",
            table_name=c.TABLE_NAME,
            partition_key=ddb.Attribute(name="pk", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="sk", type=ddb.AttributeType.STRING),
            billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
            encryption=ddb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="ttl",  # log items expire after LOG_TTL_DAYS
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=c.STATUS_INDEX,
            partition_key=ddb.Attribute(name="gsi1pk", type=ddb.AttributeType.STRING),
            sort_key=ddb.Attribute(name="gsi1sk", type=ddb.AttributeType.STRING),
            projection_type=ddb.ProjectionType.ALL,
        )
        # Powertools idempotency persistence layer: key `id`, TTL `expiration`. Records are
        # short-lived, so this table is not worth retaining.
        self.idempotency_table = ddb.Table(
            self,
            "IdempotencyTable",
            table_name=c.IDEMPOTENCY_TABLE_NAME,
            partition_key=ddb.Attribute(name="id", type=ddb.AttributeType.STRING),
            billing_mode=ddb.BillingMode.PAY_PER_REQUEST,
            encryption=ddb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=ddb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expiration",
            removal_policy=RemovalPolicy.DESTROY,
        )
