"""Artifacts: the S3 bucket for releases and reports, and the bucket for its access logs."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import constants as c


class Artifacts(Construct):
    """Releases (source at one commit, packed once) and reports.

    S3-managed encryption (SSE-S3), not KMS: the application instances read releases with only
    ``s3:GetObject`` in their role, and access-log delivery requires SSE-S3 on the log bucket.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs",
                                              expiration=Duration.days(c.ACCESS_LOG_EXPIRY_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=c.artifacts_bucket_name(Aws.ACCOUNT_ID, Aws.REGION),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs_bucket,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(id="expire-noncurrent",
                                 noncurrent_version_expiration=Duration.days(c.NONCURRENT_EXPIRY_DAYS),
                                 abort_incomplete_multipart_upload_after=Duration.days(7)),
                s3.LifecycleRule(id="expire-superseded-releases",
                                 prefix=c.RELEASES_PREFIX,
                                 tag_filters={c.RELEASE_STATE_TAG: c.RELEASE_SUPERSEDED},
                                 expiration=Duration.days(c.RELEASE_EXPIRY_DAYS)),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
