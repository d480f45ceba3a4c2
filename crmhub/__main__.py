"""``python -m crmhub``: the same as the ``crmhub`` command."""

from crmhub.cli import main

main()
