"""Domain logic. Functions here receive their dependencies (``Ports``) and never import boto3."""
