"""The local endpoint itself: lifecycle, URL forms, reset, the CLI entry point."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _local_aws_support import TIMINGS
from botocore.exceptions import ClientError

from blueprint.local_aws.server import LocalAws, start_local_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_import_is_cheap() -> None:
    out = run_python(
        "import sys, blueprint.local_aws; print(sorted(m for m in sys.modules if m == 'moto'))"
    )
    assert out.strip() == "[]"


def test_cold_start_time() -> None:
    """Start in a fresh process (moto not yet imported) and make a first CFN call."""
    out = run_python(
        "import json, time\n"
        "from blueprint.local_aws import start_local_aws\n"
        "aws = start_local_aws()\n"
        "t = time.perf_counter()\n"
        "aws.client('cloudformation').list_stacks()\n"
        "first = time.perf_counter() - t\n"
        "aws.stop()\n"
        "print(json.dumps([aws.started_seconds, first]))\n"
    )
    started, first_call = json.loads(out.strip().splitlines()[-1])
    TIMINGS["server cold start incl. fixes (s)"] = started
    TIMINGS["first CloudFormation call after start (s)"] = first_call
    assert started < 30


def test_lifecycle_port_and_context_manager() -> None:
    with start_local_aws() as aws:
        assert aws.port > 0
        assert aws.endpoint_url == f"http://localhost:{aws.port}"
        assert aws.template_url("b", "/k/x.yml") == f"http://localhost:{aws.port}/b/k/x.yml"
        assert aws.client("sts").get_caller_identity()["Account"] == "123456789012"
        port = aws.port
    with socket.socket() as sock:  # stopped: the port is free again
        sock.bind(("127.0.0.1", port))


def test_reset_drops_state(local_aws_server: LocalAws) -> None:
    s3 = local_aws_server.client("s3")
    s3.create_bucket(Bucket="to-be-reset")
    local_aws_server.reset()
    assert s3.list_buckets()["Buckets"] == []


def test_template_url_forms(aws: LocalAws, cfn: Any) -> None:
    """``http://localhost:PORT/bucket/key`` works; ``http://127.0.0.1:PORT/...`` does not."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="tpl")
    body = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"
    s3.put_object(Bucket="tpl", Key="dir/q.yml", Body=body.encode())
    cfn.create_stack(StackName="ok", TemplateURL=aws.template_url("tpl", "dir/q.yml"))
    assert cfn.describe_stacks(StackName="ok")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    with pytest.raises(ClientError):
        cfn.create_stack(StackName="bad", TemplateURL=f"http://127.0.0.1:{aws.port}/tpl/dir/q.yml")


def test_serve_forever_stops_on_sigterm() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = "import sys; from blueprint.local_aws import serve_forever; sys.exit(serve_forever(%d))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code % port],
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("serve_forever did not start listening")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None
        assert f"http://localhost:{port}" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
