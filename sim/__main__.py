"""`python -m sim` is `distill-sim`."""

from sim.cli import main

main()
