"""``python -m seal.cli``."""

from seal.cli import main

main()
