"""The `hivemind` command line: parse arguments, call plain functions, render the result."""
