"""Subcommands of the ``ddp-e2e`` CLI, one module each."""
