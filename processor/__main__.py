"""`python -m processor` is the `sla-processor` command."""

from processor.cli import main

main()
