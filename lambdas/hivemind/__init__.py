"""HiveMind: deploy a web app from a Git repository to AWS and keep it healthy."""

__version__ = "0.1.0"
