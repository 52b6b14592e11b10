
"""An in-process local AWS endpoint: moto's threaded server with blueprint's fixes.

>>> with start_local_aws() as aws:                       # doctest: +SKIP
...     cfn = aws.client("cloudformation")
...     aws.template_url("bucket", "vpc.yml")
'http://localhost:PORT/bucket/vpc.yml'

The endpoint URL uses ``localhost``, not ``127.0.0.1``: moto reads the bucket of
an S3 ``TemplateURL`` from the host name unless the URL contains ``localhost``
(``http://127.0.0.1:PORT/b/k`` is read as bucket ``127``).  Clients must use
path-style S3 addressing (:data:`S3_PATH_STYLE`), since ``bucket.localhost`` need
not resolve.

moto is imported only inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

__all__ = [
    "DEFAULT_REGION",
    "FAKE_CREDENTIALS",
    "S3_PATH_STYLE",
    "LocalAws",
    "fake_aws_env",
    "serve_forever",
    "start_local_aws",
]

DEFAULT_REGION = "us-east-1"
FAKE_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
#: botocore ``Config(s3=...)`` value clients of the local endpoint should use.
S3_PATH_STYLE: dict[str, str] = {"addressing_style": "path"}

logger = logging.getLogger(__name__)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def fake_aws_env(region: str = DEFAULT_REGION) -> Iterator[None]:
    """Temporarily set fake credentials and a default region where unset."""
    wanted = {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": region}
    added = [key for key in wanted if key not in os.environ]
    for key in added:
        os.environ[key] = wanted[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


class LocalAws:
    """A running local AWS endpoint (moto server thread with fixes applied)."""

    def __init__(self, server: Any, host: str, port: int, region: str = DEFAULT_REGION):
        self._server = server
        self.host = host
        self.port = port
        self.region = region
        self.started_seconds: float = 0.0
        self._stopped = False

    @property
    def endpoint_url(self) -> str:
        return f"http://localhost:{self.port}"

    def template_url(self, bucket: str, key: str) -> str:
        """The S3 ``TemplateURL`` form this endpoint's CloudFormation can read."""
        return f"{self.endpoint_url}/{bucket}/{key.lstrip('/')}"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``boto3.client(service, **kwargs)`` against this endpoint
        (explicit fake credentials, region, path-style S3)."""
        from botocore.config import Config

        return {
            "endpoint_url": self.endpoint_url,
            "region_name": self.region,
            "aws_access_key_id": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        }

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` bound to this endpoint."""
        import boto3

        return boto3.client(service, **self.client_kwargs())  # type: ignore[call-overload]

    def reset(self) -> None:
        """Drop all state (``POST /moto-api/reset``); the fixes stay applied."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/moto-api/reset", data=b"", method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._server.stop()

    def __enter__(self) -> LocalAws:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalAws(endpoint_url={self.endpoint_url!r})"


def start_local_aws(port: int = 0, host: str = "127.0.0.1", *, verbose: bool = False) -> LocalAws:
    """Apply the fixes and start moto's threaded server on ``host:port``.

    ``port=0`` picks a free port. Returns once the server accepts connections.
    """
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from blueprint.local_aws.fixes import apply_fixes

    started = time.perf_counter()
    apply_fixes()
    if not verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if port == 0:
        port = _free_port(host)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=verbose)
    server.start()
    actual_port = server.get_host_and_port()[1]
    local = LocalAws(server, host, actual_port)
    local.started_seconds = time.perf_counter() - started
    logger.debug("local AWS on %s (started in %.2fs)", local.endpoint_url, local.started_seconds)
    return local


def serve_forever(port: int, host: str = "127.0.0.1") -> int:
    """Run the local endpoint until Ctrl-C or SIGTERM (``blueprint local-aws``).

    Returns the process exit code (0).
    """
    for key, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": DEFAULT_REGION}.items():
        os.environ.setdefault(key, value)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _on_signal)
    local = start_local_aws(port=port, host=host)
    print(
        f"blueprint local AWS endpoint: {local.endpoint_url} (region {local.region}); "
        f"started in {local.started_seconds:.2f}s; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        local.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
