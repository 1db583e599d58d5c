"""On-instance scripts (install-release, harden, stop-app) and the SSM documents that run them."""
