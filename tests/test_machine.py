"""The machine line a timing is printed with: CPU flags, and a calibration that measures."""

import os

from burgerfries import machine


def test_the_machine_line_names_cores_flags_and_the_calibration(monkeypatch):
    monkeypatch.setattr(machine, "SECONDS", 0.2)
    assert machine.cpu_flags()  # AVX-512 extensions, "AVX2 only" or "no AVX2": never empty
    line = machine.describe_machine(calibrate=False)
    assert f"{os.cpu_count()} CPUs" in line and "calibration" not in line
    figures = machine.calibration()
    assert figures["matmul_gflops"] > 0 and figures["depthwise_gflops"] > 0
    assert "GFLOP/s" in machine.describe_machine()
