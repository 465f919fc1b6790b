"""The CLI auto-starts the local SageMaker with its own environment (sensitive
variables, AWS credentials); none of it reaches a model, and `destroy` leaves no
extracted artifact behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.helpers import cli_env, run_cli
from tests.local.server_harness import free_port, model_tar

pytestmark = pytest.mark.timeout(180)

ENV_CODE = '''
import os

def model_fn(model_dir):
    return None

def predict_fn(data, model):
    return dict(os.environ)
'''

CONFIG = """\
provider: {{type: local, url: "{url}"}}
variables:
  token:
    sensitive: true
models:
  env:
    primary_container:
      image: local/echo
      model_data_url: ./models/env.tar.gz
      environment: {{SAGEMAKER_PROGRAM: inference.py, API_TOKEN: "${{var.token}}"}}
endpoint_configs:
  env:
    production_variants:
      - {{variant_name: primary, model_name: "${{models.env.name}}", instance_type: ml.m5.large, initial_instance_count: 1}}
endpoints:
  env:
    endpoint_config_name: ${{endpoint_configs.env.name}}
"""


def test_models_get_only_their_environment_and_destroy_removes_the_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"http://127.0.0.1:{free_port()}"
    model_tar(tmp_path / "models", "env", ENV_CODE)
    (tmp_path / "smstate.yaml").write_text(CONFIG.format(url=url))
    secrets = {"SMSTATE_VAR_token": "tok-hunter2", "AWS_SECRET_ACCESS_KEY": "aws-hunter2", "SMSTATE_LOCAL_HOME": str(home)}
    env = cli_env(None, secrets)
    try:
        applied = run_cli(["apply", "--auto-approve"], tmp_path, env, timeout=120)
        assert applied.code == 0, str(applied)
        invoked = run_cli(["invoke", "env", "--body", "1"], tmp_path, env)
        assert invoked.code == 0, str(invoked)
        seen = json.loads(invoked.out)
        assert seen["API_TOKEN"] == "tok-hunter2"  # the model's own Environment: it is SageMaker's to hold
        assert not [k for k in seen if k.startswith(("SMSTATE_", "AWS_"))], sorted(seen)
        assert not [k for k, v in seen.items() if "aws-hunter2" in v or ("tok-hunter2" in v and k != "API_TOKEN")]
        assert list((home / "artifacts" / "models").iterdir())
        server = json.loads((home / "server.pid").read_text())["pid"]
        readable = Path(f"/proc/{server}/environ").read_bytes()  # what a model of the same user could read
        assert b"tok-hunter2" not in readable and b"SMSTATE_VAR_" not in readable

        destroyed = run_cli(["destroy", "--auto-approve"], tmp_path, env, timeout=120)
        assert destroyed.code == 0, str(destroyed)
        assert list((home / "artifacts" / "models").iterdir()) == []
    finally:
        stop = [sys.executable, "-m", "providers.local", "stop", "--url", url, "--home", str(home)]
        subprocess.run(stop, env=env, capture_output=True, timeout=60)
