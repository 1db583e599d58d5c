"""Shared test settings: no real AWS is ever reached; moto or the local cloud answer."""

from __future__ import annotations

import os

# Dummy credentials and a region for boto3; tests that need an endpoint set it themselves.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "HiveMindTest")
