"""End-to-end: the real CLI code path against a real local cloud (``local_target`` in tests/conftest.py:
one per module, its own state directory, purged at the end)."""
