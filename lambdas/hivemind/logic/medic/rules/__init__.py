"""One diagnosis rule per module; each defines ``RULE`` (a ``hivemind.logic.medic.rule.Rule``).

The module is named after the rule id with '-' as '_' (``wrong-port`` -> ``wrong_port.py``).
Priorities (lower = more specific, tried first) are grouped by layer:
10-99 a cause behind a symptom (a missing module behind an app that exited), 100-199 the install
script's own kinds, 200-299 health checks, 300-399 CloudFormation, 400-499 SSM commands,
500-599 analysis and planning, 600-699 the control plane (throttling, timeouts), 900+ catch-alls.
"""
