"""The local cloud: the same control plane and pipeline, run on this machine.

An embedded AWS emulator (moto server on loopback) runs in a background process
(``server.py``). Inside it, the emulator is adapted in one module per concern:

- ``lambda_runtime``  Lambda invoke dispatches to the project's real handler functions;
- ``agent``           EC2 instances are sandbox directories with their own 127.x.y.z address,
                      and SSM Run Command really runs the documents' scripts in them;
- ``proxy``           each ELBv2 load balancer is a real HTTP reverse proxy with health checks;
- ``rds``             each RDS PostgreSQL instance is a real PostgreSQL server;
- ``cfn_extensions``  CloudFormation resource types and behaviours moto lacks.

``control_plane`` creates the same resources as the CDK app; ``cloud`` is what the CLI calls
(``up``, ``down``, ``status``, ``ensure_running``, ``client_env``).

Nothing in this package is shipped to Lambda (the CDK asset excludes ``local``).
"""

from __future__ import annotations
