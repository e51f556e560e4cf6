"""`python -m ftdata.cli`: the `ftdata` command."""

from ftdata.cli import main

main()
