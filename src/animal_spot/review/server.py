"""Serve a review on 127.0.0.1 with uvicorn until Ctrl-C, one server per verdict folder."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable

from ..atomic import folder_lock
from ..errors import BadConfig
from .app import create_app
from .session import Review

HOST = "127.0.0.1"  # never another interface: the page writes files on this machine
DEFAULT_PORT = 8765


def bind(port: int = DEFAULT_PORT) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: a free port the system picks).

    Raises:
        BadConfig: the port is taken or not allowed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
        sock.listen(64)  # listening now: a browser started at once waits, not fails
    except OSError as err:
        sock.close()
        raise BadConfig(
            f"cannot listen on {HOST}:{port} ({err.strerror or err})",
            fix="choose another --port, or --port 0 for any free one",
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The page's address for a socket from `bind`."""
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}/"


def serve(
    review: Review, port: int = DEFAULT_PORT, *, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve ``review`` until Ctrl-C (or SIGTERM); ``on_ready`` gets the page's address first.

    The verdict folder is locked meanwhile, so two reviews never write one table.

    Raises:
        BadConfig: the port cannot be used, or another review writes the same folder.
    """
    import uvicorn

    app = create_app(review)
    with folder_lock(review.out_dir, "writing verdicts into"), bind(port) as sock:
        if on_ready is not None:
            on_ready(url_of(sock))
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it obeyed
            uvicorn.Server(config).run(sockets=[sock])
