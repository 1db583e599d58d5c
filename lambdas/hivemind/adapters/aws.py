"""boto3 clients with one retry configuration (adaptive mode) and a cached session per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=60)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
    }
)

# Every service the control plane's adapters call, but the optional Bedrock reading (the local
# cloud creates these clients before it reports ready, as a warm Lambda environment has them).
SERVICES = ("autoscaling", "cloudformation", "cloudwatch", "ec2", "elbv2", "events", "logs", "rds",
            "resourcegroupstaggingapi", "s3", "scheduler", "secretsmanager", "sns", "sqs", "ssm", "stepfunctions")


@lru_cache(maxsize=64)
def client(service: str, region: str | None = None) -> Any:
    """A cached client. The endpoint comes from the environment (AWS_ENDPOINT_URL in the local cloud)."""
    return boto3.session.Session().client(service, region_name=region, config=RETRY_CONFIG)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_throttling(exc: ClientError) -> bool:
    return error_code(exc) in THROTTLING_CODES
