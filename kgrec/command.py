"""Running a parsed ``kgrec`` subcommand: the exit codes every entry point shares."""

from __future__ import annotations

import argparse
import sys

from kgrec.errors import KgrecError

__all__ = ["dispatch"]


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed subcommand: kgrec errors are one line and exit 2, Ctrl-C exits 130."""
    try:
        return int(args.func(args) or 0)
    except KgrecError as e:
        print(f"kgrec: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
