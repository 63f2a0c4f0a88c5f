"""Our training step against the TF Object Detection API's, side by side in one run (A-B-A: ours,
the OD API, ours again), on the configs `../shared/peers/odapi/make_configs.sh` writes: batch 10,
from scratch, on the learning-curve fixture's records — SSD 300 px, SSD smoke (160 px, depth 0.35),
FPNLite 320 px — and FPNLite smoke, which this script derives from FPNLite 320 px as our smoke
profile derives it (160 px, depth multiplier 0.35).

    ODAPI_DIR=/tmp/odapi python bench/vs_odapi.py [--steps 10] [--peers ../shared/peers/odapi]

The OD API environment comes from `../shared/peers/odapi/setup.sh` (about 10 minutes, 3 GB); without
it, only our times are printed. The OD API's figure is its own logged per-step time of the last
20-step chunk (the first chunk includes tracing); ours is the median step after two warm-up steps.
The OD API runs twice per config: with TensorFlow's default oneDNN setting (what its users get; it
was off on our AVX2-only machine, and TensorFlow logs "oneDNN custom operations are on" when it is
on) and with TF_ENABLE_ONEDNN_OPTS=1, which burgerfries sets for itself (`burgerfries/__init__.py`).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from train_step import time_steps  # noqa: E402  (bench/train_step.py, beside this file)

from burgerfries.machine import describe_machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {  # the OD API config's name → (our model, our profile)
    "ssd_full": ("ssd_mobilenet_v2_320x320", "full"),
    "ssd_smoke": ("ssd_mobilenet_v2_320x320", "smoke"),
    "fpnlite_full": ("ssd_mobilenet_v2_fpnlite_320x320", "full"),
    "fpnlite_smoke": ("ssd_mobilenet_v2_fpnlite_320x320", "smoke"),
}
# make_configs.sh writes no FPNLite smoke config: this one is its 320 px config with our smoke
# profile's two changes (burgerfries/model/config.py PROFILES).
SMOKE_EDITS = {
    "height: 320": "height: 160",
    "width: 320": "width: 160",
    "depth_multiplier: 1.0": "depth_multiplier: 0.35",
}


def write_fpnlite_smoke_config(odapi_dir: Path) -> None:
    full = (odapi_dir / "cfg" / "fpnlite_full.config").read_text()
    for old, new in SMOKE_EDITS.items():
        if full.count(old) != 1:
            raise ValueError(f"{odapi_dir / 'cfg' / 'fpnlite_full.config'}: expected one {old!r}")
        full = full.replace(old, new)
    (odapi_dir / "cfg" / "fpnlite_smoke.config").write_text(full)


def odapi_seconds(peers: Path, name: str, onednn: bool) -> float | None:
    """The OD API's logged per-step time of its last chunk, or None without its environment;
    `onednn`: with TF_ENABLE_ONEDNN_OPTS=1, else with TensorFlow's default."""
    odapi_dir = Path(os.environ.get("ODAPI_DIR", "/tmp/odapi"))
    if not (odapi_dir / "venv215" / "bin" / "python").is_file():
        return None
    if name == "fpnlite_smoke":
        write_fpnlite_smoke_config(odapi_dir)
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    if onednn:
        env["TF_ENABLE_ONEDNN_OPTS"] = "1"
    printed = subprocess.run(
        ["bash", str(peers / "time_step.sh"), name], capture_output=True, text=True, check=True, env=env
    ).stdout
    chunks = [float(seconds) for seconds in re.findall(r"per-step time ([0-9.]+)s", printed)]
    return chunks[-1] if len(chunks) > 1 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=10, help="our timed steps per measurement")
    parser.add_argument("--peers", type=Path, default=ROOT.parent / "shared" / "peers" / "odapi")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    fixture = args.peers.resolve().parents[1] / "fixtures" / "odapi_learning_curve"
    print(f"# ours with TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    print("| config | ours s/step (A, A') | OD API s/step, default | ÷ ours | OD API s/step, oneDNN on | ÷ ours |")
    print("|---|---|---|---|---|---|")
    for name in args.configs:
        model, profile = CONFIGS[name]
        first = time_steps(fixture, model, profile, 10, args.steps)
        theirs = [odapi_seconds(args.peers, name, onednn) for onednn in (False, True)]
        again = time_steps(fixture, model, profile, 10, args.steps)
        ours = statistics.mean([first, again])
        cells = [f"{seconds} | {seconds / ours:.2f}×" if seconds else "— | —" for seconds in theirs]
        print(f"| {name} | {ours:.3f} ({first:.3f}, {again:.3f}) | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
