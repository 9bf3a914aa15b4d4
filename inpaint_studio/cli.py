"""Command line: GUI launch, run, models, train, evaluate (filled in by the lead)."""

import sys


def main(argv=None) -> int:
    """Entry point placeholder until the CLI lands."""
    print("inpaint-studio: CLI not yet assembled", file=sys.stderr)
    return 2
