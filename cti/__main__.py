"""``python -m cti``: the ``cti`` command."""

from cti.cli import main

main()
