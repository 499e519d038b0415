"""``python -m joinedup.cli``: the same as the ``joinedup`` command."""

from joinedup.cli import main

main()
