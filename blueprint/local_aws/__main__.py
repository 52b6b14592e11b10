"""``python -m blueprint.local_aws``: serve the local AWS endpoint in this process.

What ``--local`` starts as a child (see :mod:`blueprint.local_aws.child`): once the
endpoint accepts connections it prints ``blueprint-local-aws ready port=N`` on
standard output, then writes only to standard error. Exit codes: 0 stopped,
2 could not start (the `local` extra missing, the port taken).
"""

from __future__ import annotations

import argparse
import os
import sys

from blueprint.errors import EXIT_CANNOT_CHECK, BlueprintError
from blueprint.local_aws.child import ready_line
from blueprint.local_aws.server import LOCAL_EXTRA_HINT, LocalAws, serve_forever


def _announce_on_stdout(local: LocalAws) -> None:
    print(ready_line(local.port), flush=True)
    # The parent stops reading after this line: later output goes to stderr,
    # so nothing can block on a full pipe.
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m blueprint.local_aws",
        description="Serve moto with blueprint's fidelity fixes on HOST:PORT until stopped.")
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--stop-at-stdin-eof", action="store_true",
                        help="stop when standard input ends (the parent closed it or died)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    try:
        return serve_forever(args.port, args.host, announce=_announce_on_stdout,
                             stop_at_stdin_eof=args.stop_at_stdin_eof, verbose=args.verbose)
    except BlueprintError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except ModuleNotFoundError as err:  # a partial `local` extra
        print(f"error: the local AWS endpoint needs {err.name}, which is not installed\n"
              f"  hint: {LOCAL_EXTRA_HINT}", file=sys.stderr)
        return EXIT_CANNOT_CHECK


if __name__ == "__main__":
    sys.exit(main())
