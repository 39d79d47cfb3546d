"""Running the console script against a sandbox server, as a user's shell does."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from support.sandbox import ServerSandbox, run_meshctl


def meshctl(server: ServerSandbox, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``meshctl ARGS`` with the server's endpoint and no terminal on stdin (as in CI); whatever
    it answers, never a Python traceback."""
    proc = run_meshctl(*args, env=server.env, cwd=cwd)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


class Listener:
    """A TCP port that accepts connections (the kernel completes them) and counts them: pointed at
    as the AWS endpoint, it shows whether a command called AWS at all."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.endpoint = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def connections(self) -> int:
        self.sock.setblocking(False)
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1
