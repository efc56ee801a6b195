"""Sub-commands of the ``simgrad`` CLI, one module each (see :mod:`simgrad.cli`)."""
