"""The resolved plan: the printed plan and estimate, the key every worker agrees on, and the
flags that make a worker resolve the same plan."""

from pathlib import Path

from burgerfries.sweep import DEFAULT_STUDY
from burgerfries.sweep.definition import load_definition
from burgerfries.sweep.plan import SweepPlan


def original_plan(**changes) -> SweepPlan:
    fields = dict(
        definition=load_definition(DEFAULT_STUDY),
        study_path=DEFAULT_STUDY,
        data=Path("/data/synthetic"),
        dataset_hash="abc",
        profile="smoke",
        repeats=1,
        noise_seeds=3,
        storage_url="sqlite:///optuna.db",
        workers=2,
        checkpoint_root=Path("checkpoints"),
        num_train_images=63,
        experiment="original_study",
        register="original_study",
    )
    return SweepPlan(**{**fields, **changes})


def test_dry_run_plan_lists_phases_trials_and_an_estimate():
    text = original_plan().describe({"ssd_mobilenet_v2_320x320": 0.07, "ssd_mobilenet_v2_fpnlite_320x320": 0.1})
    assert "phase 1 weights: grid, 3 configuration(s) × 2 model(s)" in text
    assert "phase 3 lr" in text and "fixed {'batch_size': 5}" in text
    # per model: weights 2 points + the base's 3 seeds, batch 2 points (the incumbent's runs come from
    # the phase before), each up to 2 confirmation seeds of one challenger, then two more looks of 3
    # seeds for it and the incumbent: 2 + 12 per phase and model; lr, a reference race: 4 points,
    # the reference's 3 seeds among them, 2 confirmation seeds for 2 points, then its carried test:
    # 3 seeds of one challenger and two more looks (3 + 12)
    assert "120 trials at most: 26 screening, 94 confirmation" in text
    assert (
        "a reference race: the points race the incumbent with {'batch_size': 5} (the reference; it is trained "
        "with 3 seeds), and the leader's learning_rate alone is then tested at the incumbent in phase lr-carried"
    ) in text
    assert "decision: racing on mAP@0.5 (last evaluation) (α 0.05 per phase)" in text
    assert "initial weights of ssd_mobilenet_v2_fpnlite_320x320: pretrained (restore " in text
    assert "2 worker processes on this machine share each phase's trials" in text
    assert (
        "steps per trial, whatever its batch size: ssd_mobilenet_v2_320x320 300, ssd_mobilenet_v2_fpnlite_320x320 300 "
        "(the study's 47.6 passes over 63 training images at the base batch size 10)" in text
    )
    assert "estimated duration for one worker: at most" in text


def test_the_key_follows_what_changes_the_trials_and_nothing_else():
    plan = original_plan()
    assert plan.key == original_plan(workers=1, storage_url="postgresql://h/db").key  # who runs it, and where
    changes = (
        original_plan(dataset_hash="def"),
        original_plan(profile="tiny"),
        original_plan(noise_seeds=1),
        original_plan(experiment="elsewhere"),
    )
    for changed in changes:
        assert changed.key != plan.key
    assert plan.prefix == f"original_study:{plan.key}"
    assert plan.study_name("lr", "m") == f"{plan.prefix}:lr:m"


def test_trials_take_the_studys_passes_else_the_profiles_unless_the_study_sets_steps():
    plan = original_plan()
    assert plan.num_steps("ssd_mobilenet_v2_320x320") == 300  # the study's 47.6 passes over 63 images at batch 10
    assert original_plan(num_train_images=240).num_steps("ssd_mobilenet_v2_320x320") == 1143  # ⌈47.6 × 24⌉
    assert original_plan(profile="tiny").num_steps("ssd_mobilenet_v2_320x320") == 60  # a length in steps stays
    plan.definition.epochs = None  # the smoke profile's passes: 95.2, SSD's 142.8
    assert plan.num_steps("ssd_mobilenet_v2_320x320") == 900  # ⌈142.8 × 6.3⌉
    assert plan.num_steps("ssd_mobilenet_v2_fpnlite_320x320") == 600  # ⌈95.2 × 6.3⌉
    assert (
        "(the smoke profile's ssd_mobilenet_v2_320x320 142.8, ssd_mobilenet_v2_fpnlite_320x320 95.2 passes "
        "over 63 training images at the base batch size 10)" in plan.describe()
    )
    plan.definition.num_steps = 40
    assert plan.num_steps("ssd_mobilenet_v2_320x320") == 40


def test_worker_arguments_resolve_the_same_plan(tmp_path):
    from burgerfries.cli import build_parser
    from burgerfries.jobs.sweep.job import SweepSettings, resolve_plan

    (tmp_path / "dataset.json").write_text('{"num_images": {"train": 63}}')  # a folder without a hash
    (tmp_path / "label_map.pbtxt").write_text("item {\n  id: 1\n  name: 'burger'\n}\n")
    plan = original_plan(data=tmp_path, dataset_hash="")
    args = build_parser().parse_args(["sweep", *plan.worker_arguments()])
    settings = SweepSettings(
        study=args.study,
        data=args.data,
        profile=args.profile,
        storage=args.storage,
        repeats=args.repeats,
        noise_seeds=args.noise_seeds,
        workers=2,
        checkpoint_root=plan.checkpoint_root,
        experiment=args.experiment,
        register=args.register,
        system_metrics=not args.no_system_metrics,
    )
    resolved = resolve_plan(settings)
    assert resolved.key == plan.key
    assert resolved == original_plan(data=tmp_path.resolve(), dataset_hash="")
