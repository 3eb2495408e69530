"""``python -m sigverify`` runs the command line."""

from sigverify.cli import main

main()
