"""Sub-commands of `python -m mlcore`, one module each (see `mlcore.cli`)."""
