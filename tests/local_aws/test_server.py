"""The local endpoint itself: lifecycle, its own process, URL forms, reset, the CLI entry."""

from __future__ import annotations

import importlib.util
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

from blueprint.cli import main
from blueprint.errors import BlueprintError
from blueprint.local_aws import server
from blueprint.local_aws.server import LocalAws, LocalExtraMissing, start_local_aws

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
        assert aws.pid != os.getpid()
        assert aws.port > 0
        assert aws.endpoint_url == f"http://localhost:{aws.port}"
        assert aws.template_url("b", "/k/x.yml") == f"http://localhost:{aws.port}/b/k/x.yml"
        assert aws.client("sts").get_caller_identity()["Account"] == "123456789012"
        port = aws.port
    with socket.socket() as sock:  # stopped: the port is free again
        sock.bind(("127.0.0.1", port))
    assert not process_exists(aws.pid)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers: ask Linux for its state where it can tell
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.is_file() and stat.read_text().split(") ")[-1].startswith("Z"))


def wait_until_gone(pid: int, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not process_exists(pid):
            return True
        time.sleep(0.1)
    return False


def test_moto_and_its_patches_stay_out_of_the_process_that_validates() -> None:
    """--local once ran moto on a thread of the validating process: its patches (a
    PyYAML constructor among them) applied there, and linting turned serial."""
    out = run_python(
        "import json, os, sys, threading, yaml\n"
        "before = {k: sorted(map(str, c.yaml_constructors)) for k, c in "
        "[('safe', yaml.SafeLoader), ('full', yaml.Loader)]}\n"
        "from blueprint.local_aws import start_local_aws\n"
        "with start_local_aws() as aws:\n"
        "    sts = aws.client('sts').get_caller_identity()['Account']\n"
        "    after = {k: sorted(map(str, c.yaml_constructors)) for k, c in "
        "[('safe', yaml.SafeLoader), ('full', yaml.Loader)]}\n"
        "    print(json.dumps({'moto': sorted(m for m in sys.modules if m.startswith('moto')),"
        " 'threads': threading.active_count(), 'yaml_same': before == after,"
        " 'other_pid': aws.pid != os.getpid(), 'sts': sts}))\n"
    )
    state = json.loads(out.strip().splitlines()[-1])
    assert state == {"moto": [], "threads": 1, "yaml_same": True, "other_pid": True,
                     "sts": "123456789012"}


PARENT = """
import sys, time
from blueprint.local_aws import start_local_aws
with start_local_aws() as aws:
    print(aws.pid, flush=True)
    time.sleep(120)
"""


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_the_endpoint_ends_with_the_process_that_started_it(how: signal.Signals) -> None:
    """Ctrl-C: the parent stops its child on the way out. SIGKILL leaves it no way
    out: the child sees its stdin end and stops itself."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert process_exists(child_pid)
        parent.send_signal(how)
        parent.wait(timeout=60)
        assert wait_until_gone(child_pid), "the local endpoint outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_a_child_that_cannot_start_is_exit_2_with_its_stderr() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BlueprintError) as caught:
            start_local_aws(port=port)
    assert caught.value.exit_code == 2
    message = str(caught.value)
    assert "exited at start (exit code 2)" in message
    assert f"cannot serve the local AWS endpoint on 127.0.0.1:{port}" in message


def test_without_the_local_extra_the_commands_name_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "moto" else real_find_spec(name, *args))
    with pytest.raises(LocalExtraMissing) as caught:
        start_local_aws()
    assert caught.value.exit_code == 2
    assert main(["local-aws", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "needs moto" in err and "pip install 'blueprint[local]'" in err
    assert server.LOCAL_EXTRA_HINT in err


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
