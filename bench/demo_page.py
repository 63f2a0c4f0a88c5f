"""How fast the demo page starts and answers, measured as a person meets it: in headless Chromium.

    python bench/demo_page.py --model EXPORT_DIR [--repeats 5]

Prints the seconds from `burgerfries demo` starting to the page answering HTTP, and, for a
640×480 and a 6000×4000 JPEG, the median seconds from choosing the file to the result shown
(upload, decoding, the SavedModel, drawing and the page update).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from burgerfries.machine import describe_machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def photo(path: Path, width: int, height: int) -> Path:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR).save(path, quality=90)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="an export folder")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(describe_machine(), flush=True)  # the machine and its calibration, beside every timing
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "burgerfries", "demo", "--model", args.model, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        ready = time.perf_counter() - started
        print(f"# {platform.node()} {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")
        print(f"burgerfries demo → page answering: {ready:.1f} s")
        with tempfile.TemporaryDirectory() as scratch, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox"])
            page = browser.new_page()
            for width, height in ((640, 480), (6000, 4000)):
                image = photo(Path(scratch) / f"{width}x{height}.jpg", width, height)
                seconds = []
                for _ in range(args.repeats + 1):  # the first answer traces the SavedModel
                    page.goto(url)
                    page.wait_for_selector("#upload input[type=file]", state="attached")
                    clicked = time.perf_counter()
                    page.locator("#upload input[type=file]").set_input_files(str(image))
                    page.wait_for_function(
                        "document.querySelector('#status').innerText.includes('detection(s)')", timeout=120_000
                    )
                    seconds.append(time.perf_counter() - clicked)
                print(
                    f"{width}×{height} JPEG: first answer {seconds[0]:.2f} s, then median "
                    f"{statistics.median(seconds[1:]):.2f} s (min {min(seconds[1:]):.2f}, max {max(seconds[1:]):.2f})"
                )
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
