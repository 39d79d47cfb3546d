"""The sandbox server process: moto's server with meshctl's patches, on loopback.

Run as ``python -m meshctl.sandbox.server --port N``; ``meshctl sandbox up`` starts it detached.
It prints one line ``meshctl-sandbox ready <port>`` once it listens, and stops cleanly on
SIGTERM or SIGINT. Exit status 3 means the port could not be bound.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType

from werkzeug.serving import BaseWSGIServer, make_server

from meshctl.sandbox.patches import apply_patches

HOST = "127.0.0.1"
READY = "meshctl-sandbox ready"
EXIT_PORT_BUSY = 3


def build_server(host: str, port: int) -> BaseWSGIServer:
    """A threaded moto WSGI server bound to ``host:port`` (port 0 picks a free one)."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    apply_patches()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # keep the log to what matters
    app = DomainDispatcherApplication(create_backend_app)
    return make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)


def serve(host: str, port: int) -> int:
    # Every request must be attributed to the account of its credentials, never a fixed one.
    os.environ.pop("MOTO_ACCOUNT_ID", None)
    try:
        server = build_server(host, port)
    except OSError as exc:
        print(f"meshctl-sandbox: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return EXIT_PORT_BUSY
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    worker.start()
    print(f"{READY} {server.server_address[1]}", flush=True)
    stop.wait()
    server.shutdown()
    worker.join(timeout=5)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshctl.sandbox.server")
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    return serve(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
