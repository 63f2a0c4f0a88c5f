"""Start TensorFlow without the start-up lines a user cannot act on.

On a machine without a GPU, importing TensorFlow 2.21 and creating its first device print
`Could not find cuda drivers`, `failed call to cuInit` and absl's "log messages before
InitializeLog" notice to the process's stderr — from C++, before any Python logging setting
applies, and whatever TF_CPP_MIN_LOG_LEVEL says. It also says "oneDNN custom operations are on",
which `burgerfries/__init__.py` asks for on purpose (TF_ENABLE_ONEDNN_OPTS). `start_tensorflow`
captures stderr while that happens and passes on every line except those; anything else
TensorFlow says still shows.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

NOT_ACTIONABLE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|cudart_stub\.cc.*Could not find cuda drivers"
    r"|failed call to cuInit"
    r"|port\.cc.*oneDNN custom operations are on"
    r"|cpu_feature_guard\.cc|To enable the following instructions: .* rebuild TensorFlow"
)


def start_tensorflow() -> None:
    """Import TensorFlow and create its devices with the not-actionable lines filtered out."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's INFO and WARNING lines once started
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not NOT_ACTIONABLE.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()
