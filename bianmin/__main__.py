"""`python -m bianmin` is the same as the `bianmin` command."""

from bianmin.cli import main

main()
