"""`python -m pyfleet_bridge.worker`: a pyfleet worker process.

Started by the server:  --adapter pkg.module:Class --socket PATH [--template] (token in PYFLEET_WORKER_TOKEN)
Dialing in:             --adapter pkg.module:Class --connect URL --pool NAME (token in PYFLEET_WORKER_TOKEN,
                        or --token, which other users of the machine can read in the process list)
Installed as the `pyfleet-worker` command (distribution pyfleet-worker; dialing in needs pyfleet-worker[dial-in]).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from pyfleet_bridge.adapter import load_adapter_class
from pyfleet_bridge.capture import forward_logging, redirect_output
from pyfleet_bridge.link import SocketLink
from pyfleet_bridge.liveness import check_parent, die_with_parent, watch_stdin
from pyfleet_bridge.serve import EXIT_PROTOCOL, EXIT_STARTUP, EXIT_USAGE, hello, serve, startup_failed
from pyfleet_bridge.template import fork_unsafe_reason, thread_count


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="pyfleet-worker", description="Serve Python tools to a pyfleet pool.")
    p.add_argument("--adapter", required=True, help="the adapter class, as package.module:Class")
    p.add_argument("--concurrency", type=int, default=None, help="calls to run at once (default: the adapter's, else 1)")
    local = p.add_argument_group("started by the server")
    local.add_argument("--socket", help="the server's Unix socket")
    local.add_argument("--worker-id", default="", help="the id the server gave this worker (for logs)")
    local.add_argument("--template", action="store_true", help="fork mode: import the adapter once and fork workers on request")
    remote = p.add_argument_group("dialing in from another machine")
    remote.add_argument("--connect", help="the server URL, e.g. https://pyfleet.example.com:8080")
    remote.add_argument("--token", default=os.environ.get("PYFLEET_WORKER_TOKEN"),
                        help="a worker token from the server's auth.workerTokens (default: $PYFLEET_WORKER_TOKEN, which keeps it off the process list)")
    remote.add_argument("--pool", help="the pool to join")
    remote.add_argument("--no-reconnect", action="store_true", help="exit when the link drops instead of attaching again")
    args = p.parse_args(argv)
    if args.connect:
        if not args.token or not args.pool:
            p.error("--connect needs a worker token ($PYFLEET_WORKER_TOKEN or --token) and --pool")
    elif not args.socket:
        p.error("give --socket (started by a server) or --connect URL --token T --pool NAME (dialing in)")
    if args.concurrency is not None and args.concurrency < 1:
        p.error("--concurrency must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else 0
    if args.connect:
        try:
            import grpc  # noqa: F401
        except ImportError:
            print("pyfleet worker: dialing in needs grpcio: pip install 'pyfleet-worker[dial-in]'", file=sys.stderr)
            return EXIT_USAGE
        from pyfleet_bridge.dialin import run_dialin

        try:
            cls = load_adapter_class(args.adapter)
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
            return EXIT_STARTUP
        return run_dialin(args.connect, args.token, args.pool, cls, args.adapter, args.concurrency, not args.no_reconnect)

    die_with_parent()
    check_parent()
    watch_stdin()
    try:
        link = SocketLink.connect(args.socket)
    except OSError as e:
        print(f"pyfleet worker: cannot connect to {args.socket}: {e}", file=sys.stderr)
        return EXIT_PROTOCOL
    link.send(hello(os.environ.get("PYFLEET_WORKER_TOKEN", ""), template=args.template))
    original_stderr = redirect_output(link)
    forward_logging(link)
    threads_before = thread_count()
    try:
        cls = load_adapter_class(args.adapter)
    except BaseException as e:  # noqa: BLE001 - report any import failure to the server
        startup_failed(link, "import", e)
        traceback.print_exc()
        link.close()
        os._exit(EXIT_STARTUP)
    if args.template:
        from pyfleet_bridge.template import run_template

        return run_template(link, cls, args.adapter, args.socket, args.concurrency, original_stderr,
                            fork_unsafe_reason(thread_count() - threads_before))
    return serve(link, cls, args.adapter, args.concurrency)


if __name__ == "__main__":
    sys.exit(main())
