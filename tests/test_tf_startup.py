"""A command's stderr holds what the user can act on, not TensorFlow's GPU-less start-up lines."""

import os
import subprocess
import sys

# As a user's shell has it: the suite's conftest sets TF_CPP_MIN_LOG_LEVEL, a user's shell does not.
USER_ENV = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}


def test_start_up_noise_is_filtered_and_our_message_kept(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "burgerfries", "train", "--data", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=120,
        env=USER_ENV,
    )
    assert completed.returncode == 1
    assert "not found — run data_prep first" in completed.stderr
    for noise in ("cuInit", "cudart_stub", "absl::InitializeLog", "cpu_feature_guard", "oneDNN"):
        assert noise not in completed.stderr, completed.stderr


def test_other_stderr_lines_pass_through():
    from burgerfries.tf_startup import NOT_ACTIONABLE

    assert NOT_ACTIONABLE.search("E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL")
    assert not NOT_ACTIONABLE.search("W0000 some_op.cc:1] a real warning about your input")
