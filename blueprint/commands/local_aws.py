from __future__ import annotations


def run(port: int, host: str = "127.0.0.1") -> int:
    """Serve a local AWS endpoint (moto with blueprint's fidelity fixes) until stopped.

    In this process: `blueprint local-aws` validates nothing, so moto's patches
    have nothing here to change.
    """
    from blueprint.local_aws.server import require_local_extra, serve_forever

    require_local_extra()
    return serve_forever(port, host=host)
