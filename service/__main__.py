"""``python -m service`` is the ``warmstart`` command."""

from service.cli import main

main()
