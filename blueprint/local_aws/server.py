
"""The local AWS endpoint: moto's server with blueprint's fixes, in a child process.

>>> with start_local_aws() as aws:                       # doctest: +SKIP
...     cfn = aws.client("cloudformation")
...     aws.template_url("bucket", "vpc.yml")
'http://localhost:PORT/bucket/vpc.yml'

:func:`start_local_aws` runs the endpoint as ``python -m blueprint.local_aws``
(:mod:`blueprint.local_aws.child`), so moto and its patches (a PyYAML
constructor registered globally among them) never share a process with
validation. :func:`start_in_process` runs it on a thread of this process: for
the endpoint process itself, ``blueprint local-aws`` and tests of the fixes.

The endpoint URL uses ``localhost``, not ``127.0.0.1``: moto reads the bucket of
an S3 ``TemplateURL`` from the host name unless the URL contains ``localhost``
(``http://127.0.0.1:PORT/b/k`` is read as bucket ``127``).  Clients must use
path-style S3 addressing (:data:`S3_PATH_STYLE`), since ``bucket.localhost`` need
not resolve.

moto is imported only inside functions, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from types import FrameType, TracebackType
from typing import Any, Protocol

from blueprint.errors import BlueprintError

__all__ = [
    "DEFAULT_REGION",
    "FAKE_CREDENTIALS",
    "LOCAL_EXTRA_HINT",
    "S3_PATH_STYLE",
    "LocalAws",
    "LocalExtraMissing",
    "fake_aws_env",
    "require_local_extra",
    "serve_forever",
    "start_in_process",
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
LOCAL_EXTRA_HINT = "install blueprint's `local` extra: pip install 'blueprint[local]'"
#: modules the endpoint imports that only the `local` extra installs
LOCAL_EXTRA_MODULES = ("moto", "flask", "flask_cors")

logger = logging.getLogger(__name__)


class LocalExtraMissing(BlueprintError):
    """The local endpoint needs moto, which a plain install leaves out."""

    def __init__(self, module: str) -> None:
        super().__init__(f"the local AWS endpoint needs {module}, which is not installed",
                         hint=LOCAL_EXTRA_HINT)


def require_local_extra() -> None:
    """Raise :class:`LocalExtraMissing` unless the `local` extra is installed
    (looked up, not imported: the caller may not be the endpoint's process)."""
    for module in LOCAL_EXTRA_MODULES:
        if importlib.util.find_spec(module) is None:
            raise LocalExtraMissing(module)


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


class Stoppable(Protocol):
    def stop(self) -> None: ...


class LocalAws:
    """A running local AWS endpoint: a child process or a server thread of this one."""

    def __init__(self, server: Stoppable, host: str, port: int, region: str = DEFAULT_REGION,
                 *, pid: int | None = None):
        self._server = server
        self.host = host
        self.port = port
        self.region = region
        #: the process serving the endpoint (this one for :func:`start_in_process`)
        self.pid = os.getpid() if pid is None else pid
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
        return f"LocalAws(endpoint_url={self.endpoint_url!r}, pid={self.pid})"


def start_local_aws(port: int = 0, host: str = "127.0.0.1", *, verbose: bool = False,
                    timeout: float | None = None) -> LocalAws:
    """Start the endpoint in a child process (``python -m blueprint.local_aws``).

    ``port=0`` picks a free port. Returns once the endpoint accepts connections;
    ``stop()`` (or leaving the ``with`` block) ends the child. A child that cannot
    start is a :class:`~blueprint.errors.BlueprintError` with its stderr's tail.
    """
    from blueprint.local_aws.child import DEFAULT_START_TIMEOUT_SECONDS, start_child

    return start_child(port, host, verbose=verbose,
                       timeout=DEFAULT_START_TIMEOUT_SECONDS if timeout is None else timeout)


class _MotoThread:
    """moto's WSGI app on a werkzeug server thread.

    Not moto's ``ThreadedMotoServer``: that binds on its thread and, when the
    port is taken, waits forever; here binding fails in the caller, and ``stop``
    releases the port.
    """

    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self._server = make_server(host, port, DomainDispatcherApplication(create_backend_app),
                                   threaded=True, request_handler=MotoRequestHandler)
        self.port: int = self._server.port
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="blueprint-local-aws", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()


def start_in_process(port: int = 0, host: str = "127.0.0.1", *,
                     verbose: bool = False) -> LocalAws:
    """Apply the fixes to moto in THIS process and serve it on a thread.

    For the endpoint's own process and for tests of the fixes: a process that
    validates must use :func:`start_local_aws`. ``port=0`` picks a free port.
    """
    require_local_extra()
    from blueprint.local_aws.fixes import apply_fixes

    started = time.perf_counter()
    apply_fixes()
    if not verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        server = _MotoThread(host, port)
    except OSError as err:
        raise BlueprintError(f"cannot serve the local AWS endpoint on {host}:{port}: "
                             f"{err.strerror or err}") from err
    except SystemExit as err:  # werkzeug's answer to a port in use: print, sys.exit(1)
        raise BlueprintError(f"cannot serve the local AWS endpoint on {host}:{port}: "
                             "the address is in use") from err
    local = LocalAws(server, host, server.port)
    local.started_seconds = time.perf_counter() - started
    logger.debug("local AWS on %s (started in %.2fs)", local.endpoint_url, local.started_seconds)
    return local


def _announce_on_stderr(local: LocalAws) -> None:
    print(
        f"blueprint local AWS endpoint: {local.endpoint_url} (region {local.region}); "
        f"started in {local.started_seconds:.2f}s; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )


def _stop_at_stdin_eof(stop: threading.Event) -> None:
    """Set ``stop`` once standard input ends: the parent that holds its other end
    closed it, or died, so no endpoint outlives the command that started it."""

    def watch() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(4096):
                pass
        stop.set()

    threading.Thread(target=watch, name="blueprint-stdin-watch", daemon=True).start()


def serve_forever(port: int, host: str = "127.0.0.1", *,
                  announce: Callable[[LocalAws], None] = _announce_on_stderr,
                  stop_at_stdin_eof: bool = False, verbose: bool = False) -> int:
    """Run the endpoint in this process until Ctrl-C or SIGTERM (or, with
    ``stop_at_stdin_eof``, until standard input ends). Returns the exit code (0).
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
    try:
        local = start_in_process(port=port, host=host, verbose=verbose)
        try:
            announce(local)
            if stop_at_stdin_eof:
                _stop_at_stdin_eof(stop)
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            local.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
