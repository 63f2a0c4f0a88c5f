"""A training run's settings and its plan. The plan is resolved once from the settings by a pure
function, as the sweep's plan is: the effective config, the length in steps and passes, the
evaluation and checkpoint steps, the starting weights and how much of them is restored (with
the reason), the run's name and tags. Every default of `train` lives here; `burgerfries.train`
(`api.py`), which `burgerfries train` calls, prepares a LabelImg folder, resolves this plan and
trains it with the folder's evaluation.

The knobs of `TrainSettings` default to None, which means "the model YAML's value"
(`burgerfries/configs/<model>.yaml`); the CLI, MLproject and the sweep pass only what a user set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from burgerfries.data.folder import DataFolder
from burgerfries.keys import KNOB_TYPES, Keep, Tag
from burgerfries.model import DEFAULT_MODEL, DEFAULT_RESTORE
from burgerfries.model.config import DEFAULT_PROFILE, build_config
from burgerfries.model.input_size import AUTO, InputSizeChoice, automatic_input_size
from burgerfries.pretrained import Start, choose_start
from burgerfries.training.checkpoints import DEFAULT_CHECKPOINT_ROOT

EVALUATIONS_PER_RUN = 6  # the plateau analysis needs several points per run


def default_eval_every(num_steps: int) -> int:
    """Evaluate `EVALUATIONS_PER_RUN` times over a run, so every run has a curve to read: the
    interval is rounded up, so a length that the count does not divide gets no extra evaluation a
    few steps before its last (2,257 steps at 376 evaluated at 2,256 and 2,257)."""
    return max(1, math.ceil(num_steps / EVALUATIONS_PER_RUN))


def eval_steps(num_steps: int, eval_every: int) -> set[int]:
    """The steps that evaluate: every `eval_every`-th, and always the last."""
    steps = set(range(eval_every, num_steps + 1, eval_every)) if eval_every > 0 else set()
    return steps | {num_steps}


def checkpoint_steps(num_steps: int, evaluation_steps: set[int], checkpoint_every: int, resumable: bool) -> set[int]:
    """The steps that save a checkpoint: the last; every `checkpoint_every`-th (0: none); and the
    evaluation steps when the run may be resumed (a sweep's trials are not: a dead trial is retried
    from its start, and each save costs time in a short trial)."""
    every = eval_steps(num_steps, checkpoint_every)  # the same rule: every N-th step and the last
    return every | evaluation_steps if resumable else every


@dataclass
class TrainSettings:
    data: Path | DataFolder
    model: str = DEFAULT_MODEL
    batch_size: int | None = None  # None: the model YAML's
    learning_rate: float | None = None  # learning_rate_base of the cosine schedule
    classification_weight: float | None = None
    localization_weight: float | None = None
    num_steps: int | None = None  # None: from `epochs`, else the profile's length, else the YAML's
    epochs: float | None = None  # passes over the training split (resolved to steps at the run's batch size)
    # the square input's side in pixels; None: the profile's (or the YAML's); AUTO (what `train` and
    # `burgerfries.train` ask for unless given a size): chosen from the training boxes where the
    # profile has candidate sizes (smoke), else the profile's
    input_size: int | str | None = None
    profile: str = DEFAULT_PROFILE
    seed: int = 0
    # None: the shipped weights of the profile and model where there are some, else from scratch;
    # `none`: from scratch; `pretrained`: the shipped ones (an error where there are none); a path
    weights: Path | str | None = None
    restore: str | None = None  # how much of an OD-API checkpoint `weights` restores; None: as measured
    checkpoint_every: int = 0  # 0: only at evaluation steps (when resumable) and the end
    # False: no checkpoints at evaluation steps, for runs nobody resumes (a sweep retries a dead
    # trial from its start); each save took ≈ 0.4–0.7 s of a smoke trial.
    resumable: bool = True
    eval_every: int | None = None  # None: EVALUATIONS_PER_RUN evaluations over the run; 0: the last step only
    overrides: dict = field(default_factory=dict)
    checkpoint_root: Path = DEFAULT_CHECKPOINT_ROOT
    experiment: str | None = None  # None: MLFLOW_EXPERIMENT_NAME/ID when set, else the train job's
    run_name: str | None = None
    tags: dict = field(default_factory=dict)
    nested: bool = False  # a child of the active run (the sweep's trials)
    # A whole effective config (a logged pipeline.yaml) instead of building one from the model YAML,
    # profile, knobs and overrides: what `reproduce` trains
    config: dict | None = None
    best_by: str = "mAP_50"  # the decision metric (decision.settings.OBJECTIVES) that marks the best checkpoint
    # Keep.PEAK: end with the weights of the evaluation where the validation curve peaks by
    # `best_by` (training/peak_weights.py); Keep.LAST: with the last step's
    keep: str = Keep.PEAK
    system_metrics: bool = True  # MLflow's CPU / memory / GPU sampling into the run

    def knobs(self) -> dict[str, float | int | None]:
        return {knob: getattr(self, knob) for knob in KNOB_TYPES}


@dataclass(frozen=True)
class TrainPlan:
    settings: TrainSettings
    folder: DataFolder
    config: dict  # the effective config (pipeline.yaml)
    start: Start  # the starting weights, how much of them is restored, and why
    eval_every: int
    evaluation_steps: frozenset[int]
    checkpoint_steps: frozenset[int]
    run_name: str
    tags: dict[str, str]
    input_size_choice: InputSizeChoice | None = None  # where the size was chosen from the data: why

    @property
    def num_steps(self) -> int:
        return int(self.config["train_config"]["num_steps"])

    @property
    def batch_size(self) -> int:
        return int(self.config["train_config"]["batch_size"])

    def describe(self) -> str:
        """What `train` prints before it starts: the length, the input size where it was chosen and
        why, the start and why."""
        size = [self.input_size_choice.why] if self.input_size_choice is not None else []
        return "\n".join([self.describe_length(), *size, f"start: {self.settings.model}, {self.start.why}"])

    def describe_length(self) -> str:
        """The run's length in one line: its steps, and the passes over the training split they make."""
        train, images = self.config["train_config"], self.folder.num_train_images
        passes = self.num_steps * self.batch_size / max(images, 1)
        given = f"{train['num_epochs']:g} epochs asked" if "num_epochs" in train else "length given in steps"
        return (
            f"{self.num_steps} steps at batch {self.batch_size}: {passes:.1f} passes over "
            f"{images} training images ({given})"
        )


def resolve_train(settings: TrainSettings) -> TrainPlan:
    """Every default of a training run, resolved once; reads only the data folder's small files."""
    if settings.keep not in Keep.CHOICES:
        raise ValueError(f"keep {settings.keep!r}: expected one of {', '.join(Keep.CHOICES)}")
    folder = DataFolder.open(settings.data)
    config, choice = settings.config, None
    if config is None:
        knobs = settings.knobs()
        if knobs["input_size"] == AUTO:
            choice = automatic_input_size(
                settings.model,
                settings.profile,
                len(folder.class_names),
                folder.train_record,
                folder.num_train_images,
                settings.overrides,
            )
            knobs["input_size"] = choice.size if choice else None
        config = build_config(
            settings.model,
            settings.profile,
            len(folder.class_names),
            knobs,
            settings.overrides,
            settings.epochs,
            folder.num_train_images,
        )
    start = choose_start(settings.weights, settings.restore, settings.profile, settings.model, DEFAULT_RESTORE)
    num_steps = int(config["train_config"]["num_steps"])
    eval_every = default_eval_every(num_steps) if settings.eval_every is None else settings.eval_every
    evaluation = eval_steps(num_steps, eval_every)
    saves = checkpoint_steps(num_steps, evaluation, settings.checkpoint_every, settings.resumable)
    tags = {Tag.MODEL: settings.model, Tag.PROFILE: settings.profile, **settings.tags}
    if folder.hash:
        tags[Tag.DATASET_HASH] = folder.hash
    if choice is not None:
        tags[Tag.INPUT_SIZE] = choice.why
    return TrainPlan(
        settings=settings,
        folder=folder,
        config=config,
        start=start,
        eval_every=eval_every,
        evaluation_steps=frozenset(evaluation),
        checkpoint_steps=frozenset(saves),
        run_name=settings.run_name or f"{settings.model} {settings.profile}",
        tags=tags,
        input_size_choice=choice,
    )
