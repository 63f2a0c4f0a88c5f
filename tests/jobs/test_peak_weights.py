"""A run keeps the weights where its validation curve peaked: the peak's rule, and a run whose
curve peaks before its end ending with (testing, storing, exporting) the peak's weights."""

import mlflow
import numpy as np
import pytest

from burgerfries.data.folder import TEST, VALIDATION
from burgerfries.evaluation.evaluator import Evaluation
from burgerfries.jobs.checkpoint_models import best_step
from burgerfries.jobs.train import TrainSettings, train
from burgerfries.jobs.trained_run import load_trained_run
from burgerfries.keys import Keep, Tag
from burgerfries.model.config import build_config
from burgerfries.model.ssd import build_detector
from burgerfries.training.peak_weights import KeptWeights, PeakWeights

SSD = "ssd_mobilenet_v2_320x320"


@pytest.fixture(scope="module")
def model():
    return build_detector(build_config(SSD, "tiny", num_classes=2)).model


def evaluate(hook, step, value, model):
    for variable in model.trainable_variables[:1]:
        variable.assign(np.full(variable.shape, float(step), dtype=np.float32))  # the weights say their step
    hook.after_evaluation(step, {"eval/mAP_50": value})


@pytest.mark.parametrize(
    ("curve", "kept_step"),
    [
        ([0.2, 0.6, 0.5], 2),  # peaked before the end
        ([0.2, 0.5, 0.6], 3),  # rising to the end
        ([0.2, 0.6, 0.6], 3),  # a tie keeps the longer training
        ([0.6, float("nan"), 0.4], 1),  # a NaN evaluation is not a peak
    ],
)
@pytest.mark.parametrize("persist", [True, False])
def test_the_peak_is_the_best_evaluation_and_the_last_among_equals(curve, kept_step, persist, model, tmp_path):
    hook = PeakWeights(model, "eval/mAP_50", True, tmp_path, persist)
    for step, value in enumerate(curve, start=1):
        evaluate(hook, step, value, model)
    kept = hook.kept()
    assert kept.step == kept_step and kept.last_step == (3 if curve[-1] == curve[-1] else 2)
    assert kept.is_peak_before_end == (kept_step != kept.last_step)
    assert best_step({s: {"eval/mAP_50": v} for s, v in enumerate(curve, 1)}, "mAP_50")[0] == kept_step
    # a run that does not persist writes no checkpoint before it keeps one
    assert (tmp_path / "peak" / "checkpoint").is_file() == persist
    if kept.is_peak_before_end:
        prefix = hook.load_peak()
        assert float(model.trainable_variables[0].numpy().flat[0]) == kept_step
        assert prefix.endswith(f"peak/ckpt-{kept_step}") and f"kept the weights of step {kept_step}" in kept.describe()
        model.trainable_variables[0].assign(np.zeros(model.trainable_variables[0].shape))  # other weights
        # a resumed run reads the peak and the last evaluation it had reached, and the peak's weights
        if persist:
            resumed = PeakWeights(model, "eval/mAP_50", True, tmp_path)
            assert resumed.kept() == KeptWeights(kept_step, kept.last_step, "eval/mAP_50", kept.value, kept.last_value)
            assert resumed.load_peak() == prefix
            assert float(model.trainable_variables[0].numpy().flat[0]) == kept_step
    else:
        with pytest.raises(ValueError, match="no peak before the last evaluation"):
            hook.load_peak()


def test_a_lower_is_better_metric_peaks_at_its_lowest(model, tmp_path):
    hook = PeakWeights(model, "eval/loss_total", False, tmp_path)
    for step, value in enumerate([3.0, 1.0, 2.0], start=1):
        hook.after_evaluation(step, {"eval/loss_total": value})
    assert hook.kept().step == 2


class ScriptedCurve(Evaluation):
    """The validation photos' evaluation with its mAP@0.5 replaced by a scripted curve, so the run's
    curve peaks where the test says."""

    def __init__(self, data, curve):
        super().__init__(data, split=VALIDATION)
        self.curve = list(curve)

    def __call__(self, detector):
        measured = super().__call__(detector)
        measured["eval/mAP_50"] = self.curve.pop(0)
        return measured


def tiny_settings(data, num_steps, checkpoint_root, **more):
    """A few tiny steps, evaluated every second one."""
    return TrainSettings(
        data=data,
        model=SSD,
        profile="tiny",
        num_steps=num_steps,
        batch_size=2,
        eval_every=2,
        checkpoint_root=checkpoint_root,
        **more,
    )


def weights_of(detector):
    return [variable.numpy() for variable in detector.model.weights]


def test_a_run_that_peaks_before_its_end_ends_with_the_peaks_weights(synthetic_data, tracking_uri, tmp_path, capsys):
    settings = tiny_settings(synthetic_data, 6, tmp_path)
    tester = Evaluation(synthetic_data, split=TEST)
    result = train(settings, evaluator=ScriptedCurve(synthetic_data, [0.3, 0.7, 0.5]), test_evaluator=tester)
    printed = capsys.readouterr().out
    assert "kept the weights of step 4 (the validation curve's peak): eval/mAP_50 0.700 against 0.500" in printed
    client = mlflow.MlflowClient()
    run = client.get_run(result.run_id)
    assert run.data.tags[Tag.KEPT_WEIGHTS].startswith("kept the weights of step 4")
    assert run.data.tags[Tag.BEST_CHECKPOINT] == "step 4 by eval/mAP_50"

    # What every reader of the run loads is the step-4 weights, which the step-4 checkpoint also holds
    kept = load_trained_run(result.run_id)
    at_4, at_6 = load_trained_run(result.run_id, step=4), load_trained_run(result.run_id, step=6)
    assert kept.step == 4 and result.checkpoint == kept.checkpoint
    for mine, peak, result_weights in zip(
        weights_of(kept.detector), weights_of(at_4.detector), weights_of(result.detector)
    ):
        np.testing.assert_array_equal(mine, peak)
        np.testing.assert_array_equal(mine, result_weights)
    assert any(not np.array_equal(a, b) for a, b in zip(weights_of(kept.detector), weights_of(at_6.detector)))

    # The test photos read the kept weights; the last ones are measured beside them, chosen on by nothing
    metrics = run.data.metrics
    assert metrics["test/mAP_50"] == pytest.approx(tester(kept.detector)["eval/mAP_50"], abs=1e-6)
    assert metrics["test_last_weights/mAP_50"] == pytest.approx(tester(at_6.detector)["eval/mAP_50"], abs=1e-6)

    # The stored logged model holds the peak's weights; the evaluations' models say where they are
    models = mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{result.run_id}'",
        output_format="list",
    )
    stored = next(m for m in models if m.model_id == run.data.tags[Tag.CHECKPOINT_MODEL])
    assert stored.name.endswith("-step-4-kept") and stored.tags["kept"].startswith("kept the weights of step 4")
    evaluated = {m.tags["step"]: m for m in models if m.model_id != stored.model_id}
    assert sorted(evaluated, key=int) == ["2", "4", "6"]
    assert evaluated["4"].tags["checkpoint"] == f"stored with logged model {stored.model_id}"
    assert evaluated["4"].tags["best_by"] == "eval/mAP_50"
    assert mlflow.pyfunc.load_model(f"models:/{stored.model_id}") is not None

    # Training it again (a resumed run with nothing left) keeps the same weights
    again = train(settings, run_id=result.run_id, evaluator=ScriptedCurve(synthetic_data, []), test_evaluator=tester)
    assert again.checkpoint == kept.checkpoint
    assert client.get_run(result.run_id).data.tags[Tag.KEPT_WEIGHTS] == run.data.tags[Tag.KEPT_WEIGHTS]


def test_keep_last_ends_with_the_last_weights(synthetic_data, tracking_uri, tmp_path):
    settings = tiny_settings(synthetic_data, 4, tmp_path, keep=Keep.LAST)
    result = train(settings, evaluator=ScriptedCurve(synthetic_data, [0.9, 0.1]), progress=False)
    run = mlflow.MlflowClient().get_run(result.run_id)
    assert Tag.KEPT_WEIGHTS not in run.data.tags and load_trained_run(result.run_id).step == 4
    with pytest.raises(ValueError, match="keep 'best'"):
        train(TrainSettings(data=synthetic_data, keep="best"))
