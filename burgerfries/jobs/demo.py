"""The `demo` job: serve the demo page (`export/demo_app.py`) for an exported model, and write the
Hugging Face Space folder that serves the same page without burgerfries installed."""

from __future__ import annotations

import importlib.util
import json
import shutil
import signal
import tempfile
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from burgerfries.data.folder import eval_record_in
from burgerfries.evaluation import SCORE_THRESHOLD
from burgerfries.evaluation.ground_truth import read_ground_truth
from burgerfries.export import demo_app
from burgerfries.export.loading import class_names_beside, saved_model_folder
from burgerfries.jobs.predict import resolve_model
from burgerfries.keys import DEMO_PORT
from burgerfries.metrics import EVAL_MAP_50

MODEL_INFO = "model_info.json"  # written by export beside saved_model/: run, model, eval mAP@0.5
NUM_EXAMPLES = 3
SPACE_CONFIG = "demo_config.json"
SPACE_APP = '''"""Hugging Face Space entry point, written by `burgerfries export --space`."""

import json
from pathlib import Path

from demo_app import DemoInfo, SavedModelRunner, build_demo

here = Path(__file__).parent
config = json.loads((here / "{config}").read_text(encoding="utf-8"))
info = DemoInfo(config["run_id"], config["model"], config["eval_mAP_50"],
                {{int(k): v for k, v in config["class_names"].items()}}, config["score_threshold"])
examples = [str(here / path) for path in config["examples"]]
build_demo(SavedModelRunner(here / "saved_model"), info, examples).launch()
'''
SPACE_README = """---
title: burgerfries detector
emoji: 🍔
colorFrom: yellow
colorTo: red
sdk: gradio
sdk_version: {gradio_version}
app_file: app.py
pinned: false
---

An SSD detector trained with burgerfries ({model}, run `{run_id}`, eval mAP@0.5 {map_50}).
Upload a photo to see what it finds. Written by `burgerfries export --space`; push this folder to
a Gradio Space to publish it.
"""


class DemoError(ValueError):
    """A demo that cannot start; the message says why and what to do."""


def require_gradio() -> str:
    if importlib.util.find_spec("gradio") is None:
        raise DemoError("the demo page needs Gradio, an optional extra: pip install -e '.[demo]'")
    import gradio

    return gradio.__version__


def model_folder(model: str) -> tuple[Path, str | None]:
    """An export folder, a saved_model folder, or an MLflow model URI → (saved_model folder, run id)."""
    saved_model = saved_model_folder(resolve_model(model))
    run_id = model.split("/")[1] if model.startswith("runs:/") else None
    return saved_model, run_id


def _recorded_info(saved_model: Path) -> dict:
    for candidate in (saved_model / MODEL_INFO, saved_model.parent / MODEL_INFO):
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    return {}


def demo_info(saved_model: Path, run_id: str | None, score_threshold: float) -> tuple[demo_app.DemoInfo, Path | None]:
    """What the page says about the model, and the data folder its eval examples come from."""
    info = _recorded_info(saved_model)
    run_id = run_id or info.get("run_id")
    model, map_50, data = info.get("model", "unknown model"), info.get("eval_mAP_50"), None
    if run_id:
        try:
            run = mlflow.MlflowClient().get_run(run_id)
            model = run.data.params.get("model", model)
            map_50 = run.data.metrics.get(EVAL_MAP_50, map_50)
            data = Path(run.data.params["data"]) if run.data.params.get("data") else None
        except MlflowException:
            pass  # the run is not in this tracking store: say what model_info.json says
    class_names = class_names_beside(saved_model)
    return demo_app.DemoInfo(run_id or "", model, map_50, class_names, score_threshold), data


def write_examples(data: Path | None, folder: Path, limit: int = NUM_EXAMPLES) -> list[Path]:
    """The first `limit` images of the eval split as JPEG files (none when the data is not here)."""
    record = eval_record_in(data)
    if record is None:
        return []
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for truth in read_ground_truth(record, keep_images=limit)[:limit]:
        path = folder / f"eval_{len(written) + 1}.jpg"
        Image.fromarray(truth.image).save(path, quality=92)
        written.append(path)
    return written


def serve_demo(
    model: str, host: str = "127.0.0.1", port: int = DEMO_PORT, score_threshold: float = SCORE_THRESHOLD
) -> None:
    """Serve the page until interrupted (Gradio prints the local URL)."""
    require_gradio()
    saved_model, run_id = model_folder(model)
    info, data = demo_info(saved_model, run_id, score_threshold)
    # SIGTERM stops the page as Ctrl-C does, so the example images' folder is removed either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="burgerfries-demo-") as folder:
        examples = write_examples(data, Path(folder))
        demo = demo_app.build_demo(demo_app.SavedModelRunner(saved_model), info, [str(p) for p in examples])
        try:
            demo.launch(server_name=host, server_port=port, share=False, allowed_paths=[folder])
        except KeyboardInterrupt:
            demo.close()


def write_space(
    folder: Path, saved_model: Path, info: dict, data: Path, score_threshold: float = SCORE_THRESHOLD
) -> Path:
    """A folder that runs as a Hugging Face Space as it is: app.py, demo_app.py, requirements.txt,
    the SavedModel, example images and a README with the Space's front matter. Nothing is uploaded."""
    gradio_version = require_gradio()
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "saved_model").exists():
        shutil.rmtree(folder / "saved_model")
    shutil.copytree(saved_model, folder / "saved_model")
    shutil.copy(Path(demo_app.__file__), folder / "demo_app.py")
    examples = write_examples(data, folder / "examples")
    class_names = class_names_beside(saved_model)
    config = {
        **info,
        "class_names": {str(k): v for k, v in class_names.items()},
        "score_threshold": score_threshold,
        "examples": [str(p.relative_to(folder)) for p in examples],
    }
    (folder / SPACE_CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "app.py").write_text(SPACE_APP.format(config=SPACE_CONFIG), encoding="utf-8")
    import tensorflow as tf
    from PIL import __version__ as pillow_version

    (folder / "requirements.txt").write_text(
        f"gradio=={gradio_version}\ntensorflow=={tf.__version__}\npillow>={pillow_version}\nnumpy\n", encoding="utf-8"
    )
    map_50 = f"{info['eval_mAP_50']:.3f}" if info.get("eval_mAP_50") is not None else "not recorded"
    (folder / "README.md").write_text(
        SPACE_README.format(gradio_version=gradio_version, model=info["model"], run_id=info["run_id"], map_50=map_50),
        encoding="utf-8",
    )
    return folder
