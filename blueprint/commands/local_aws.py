from __future__ import annotations


def run(port: int, host: str = "127.0.0.1") -> int:
    """Serve a local AWS endpoint (moto with blueprint's fidelity fixes) until stopped."""
    from blueprint.local_aws.server import serve_forever

    return serve_forever(port, host=host)
