"""The training loop drives a run and calls its hooks at the right moments, without tracking."""

import subprocess
import sys

import pytest

from burgerfries.jobs.train_plan import EVALUATIONS_PER_RUN, checkpoint_steps, default_eval_every, eval_steps
from burgerfries.model.config import build_config
from burgerfries.training.assemble import assemble
from burgerfries.training.loop import Hooks, train_loop


class Recorder(Hooks):
    def __init__(self):
        self.events = []

    def after_step(self, result):
        self.events.append(("step", result.step))

    def at_checkpoint(self, step):
        self.events.append(("checkpoint", step))

    def after_evaluation(self, step, metrics):
        self.events.append(("evaluation", step, metrics["score"]))

    def at_end(self, step):
        self.events.append(("end", step))


def test_hooks_see_each_step_then_its_checkpoint_then_its_evaluation(synthetic_data):
    config = build_config("ssd_mobilenet_v2_320x320", "tiny", 2, {"batch_size": 2, "num_steps": 4})
    setup = assemble(config, synthetic_data / "train.record")
    recorder = Recorder()
    evaluated = []

    def evaluate(detector):
        evaluated.append(detector)
        return {"score": float(len(evaluated))}

    result = train_loop(setup, 1, 4, [recorder], evaluate, evaluation_steps={2, 4}, checkpoint_at={3, 4})
    assert recorder.events == [
        ("step", 2),
        ("evaluation", 2, 1.0),
        ("step", 3),
        ("checkpoint", 3),
        ("step", 4),
        ("checkpoint", 4),
        ("evaluation", 4, 2.0),
        ("end", 4),
    ]
    assert evaluated == [setup.detector, setup.detector]
    assert (result.step, result.steps_done, sorted(result.eval_metrics)) == (4, 3, [2, 4])
    assert result.eval_metrics[4]["eval/seconds"] >= 0 and result.train_seconds > 0
    assert set(result.losses) >= {"loss_total", "loss_classification", "loss_localization"}


def test_a_run_with_no_step_left_still_ends():
    recorder = Recorder()
    result = train_loop(setup=None, start=5, num_steps=5, hooks=[recorder])
    assert recorder.events == [("end", 5)] and result.steps_done == 0


def test_checkpoints_at_the_end_every_n_steps_and_at_evaluations_only_when_resumable():
    evaluations = eval_steps(12, 4)
    assert evaluations == {4, 8, 12}
    assert checkpoint_steps(12, evaluations, checkpoint_every=0, resumable=False) == {12}
    assert checkpoint_steps(12, evaluations, checkpoint_every=0, resumable=True) == {4, 8, 12}
    assert checkpoint_steps(12, evaluations, checkpoint_every=5, resumable=False) == {5, 10, 12}


@pytest.mark.parametrize("num_steps", [300, 1129, 2257, 4516, 37])
def test_a_run_evaluates_six_times_by_default_the_last_at_its_end(num_steps):
    steps = sorted(eval_steps(num_steps, default_eval_every(num_steps)))
    assert len(steps) == EVALUATIONS_PER_RUN and steps[-1] == num_steps
    # evenly enough: no evaluation a few steps before the last (2,256 and 2,257 before)
    gaps = [later - earlier for earlier, later in zip([0, *steps], steps)]
    assert min(gaps) >= max(gaps) - EVALUATIONS_PER_RUN


def test_the_loop_and_its_hooks_import_without_mlflow():
    code = (
        "import sys, burgerfries.training.loop, burgerfries.training.checkpoints, burgerfries.training.progress; "
        "print('mlflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
