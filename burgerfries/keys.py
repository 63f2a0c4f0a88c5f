"""Names that cross module lines, each written once: the knobs (with their types and config
fields), the run tags a sweep writes and the report reads, and the files of a data_prep folder.

Every other module imports them from here, so renaming one is one edit (and a typo is a NameError,
not a tag nobody reads).
"""

from __future__ import annotations

from dataclasses import dataclass

LEARNING_RATE_SCHEDULE = "train_config.optimizer.momentum_optimizer.learning_rate.cosine_decay_learning_rate"


@dataclass(frozen=True)
class Knob:
    """A knob a sweep YAML or a train flag may set: its short name, its type, the config field
    (OD-API names, dotted) it sets, and how a phase's tables name its value (`lr 0.04`)."""

    name: str
    type: type
    field: str
    short: str


# The original study's four knobs, in its order (loss weights → batch size → learning rate is the
# order of its phases; this is the order of its tables), then the run length — in steps, or in
# passes over the training photos (`epochs`, resolved to steps at the run's batch size; steps win
# where both are given) — and the input size (a square input: the knob sets the resizer's height
# and its width).
KNOBS = (
    Knob("batch_size", int, "train_config.batch_size", "batch"),
    Knob("learning_rate", float, f"{LEARNING_RATE_SCHEDULE}.learning_rate_base", "lr"),
    Knob("classification_weight", float, "model.ssd.loss.classification_weight", "cls weight"),
    Knob("localization_weight", float, "model.ssd.loss.localization_weight", "loc weight"),
    Knob("num_steps", int, "train_config.num_steps", "steps"),
    Knob("epochs", float, "train_config.num_epochs", "passes"),
    Knob("input_size", int, "model.ssd.image_resizer.fixed_shape_resizer.height", "size"),
)
INPUT_WIDTH = "model.ssd.image_resizer.fixed_shape_resizer.width"  # set with `input_size`'s height
KNOB = {knob.name: knob for knob in KNOBS}
STUDY_KNOBS = tuple(knob.name for knob in KNOBS[:4])
LOSS_WEIGHT_KNOBS = ("classification_weight", "localization_weight")
KNOB_TYPES: dict[str, type] = {knob.name: knob.type for knob in KNOBS}
KNOB_FIELDS: dict[str, str] = {knob.name: knob.field for knob in KNOBS}
INTEGER_KNOBS = tuple(knob.name for knob in KNOBS if knob.type is int)
# The column of a run summary that says which configuration the run trained (its knobs, model and
# profile as one key): what decisions group runs by
CONFIG_KEY = "config_key"
# The models' short names, for run names and registered model names
SHORT_NAMES = {"ssd_mobilenet_v2_320x320": "ssd", "ssd_mobilenet_v2_fpnlite_320x320": "fpnlite"}


class Tag:
    """MLflow run tags written by the jobs and read back by the report and by later workers."""

    MODEL = "model"
    PROFILE = "profile"
    INPUT_SIZE = "input_size_choice"  # why a run trains at its input size, where it was chosen (model/input_size.py)
    STUDY = "study"
    PHASE = "phase"
    TRIAL = "trial"
    VARIED = "varied"  # the label of what the trial's phase varies, e.g. "lr 0.032"
    IS_BASE = "is_base"  # "true" when the trial trains the study's base configuration
    WORKER = "worker"
    SWEEP_KEY = "sweep_key"
    SWEEP_ROLE = "sweep_role"  # one of the SweepRole values below
    DATASET_HASH = "dataset_hash"
    CHECKPOINT_DIR = "checkpoint_dir"
    CHECKPOINT_MODEL = "checkpoint_model_id"  # the logged model holding the weights the run kept
    BEST_CHECKPOINT = "best_checkpoint"  # "step N by METRIC": the evaluated checkpoint marked best
    KEPT_WEIGHTS = "kept_weights"  # which evaluated weights the run ends with, and why (training/peak_weights.py)
    KEPT_CHECKPOINT = "kept_checkpoint"  # the local checkpoint prefix of those weights
    ANALYSIS = "analysis"  # the sweep's analysis settings as JSON (parent run)
    DECISION_SETTINGS = "decision"  # the sweep's decision settings as JSON (parent run)
    POINT = "point"  # the grid point a trial trained (-1: the phase's incumbent)
    CODE_VERSION = "code_version"
    NOTE = "mlflow.note.content"  # MLflow's run description, shown in its UI
    # Prefixes, followed by "/<model>": on a phase run and on the sweep's parent run
    WINNER = "winner"
    WINNER_REASON = "winner_reason"
    WINNER_CONFIG = "winner_config"
    OUTCOME = "outcome"  # kept or switched, a reference race's kept or carried (per model, on a phase run)
    REUSED = "reused"
    REFERENCE = "reference"  # a reference race's reference configuration (its config key, on the phase run)
    FINAL = "final"
    NOTHING_TO_FIND = "nothing_to_find"  # why a model's tuning stopped early: its base left no detectable gain
    FINAL_CONFIG = "final_config"
    FINAL_REASON = "final_reason"
    REGISTERED = "registered"  # "NAME version N": where a final pick (and its base) was registered
    STOPPED_EARLY = "stopped_early"  # on a trial run its pruner stopped: why
    KILLED_REASON = "killed_reason"  # on a trial run whose worker died
    REPORT_ERROR = "report_error"  # on the parent run: why the sweep's report failed
    REGISTRY_ERROR = "registry_error"  # on the parent run: why registering the final picks failed


class Keep:
    """Which evaluated weights a run ends with (`TrainSettings.keep`, `train --keep`; training/peak_weights.py)."""

    PEAK = "peak"  # where the validation curve peaked by the decision metric (the last among equals)
    LAST = "last"  # the last step's
    CHOICES = (PEAK, LAST)


class SweepRole:
    """Values of Tag.SWEEP_ROLE: a sweep's parent run, its phase runs, its trial runs."""

    STUDY = "study"
    PHASE = "phase"
    TRIAL = "trial"


def per_model(prefix: str, model: str) -> str:
    """A per-model tag name, e.g. `winner/ssd_mobilenet_v2_320x320`."""
    return f"{prefix}/{model}"


# The files of a data_prep output folder
TRAIN_RECORD = "train.record"
EVAL_RECORD = "eval.record"  # the test photos (the OD API's name for the held-out split)
VALIDATION_RECORD = "validation.record"  # carved from the training photos: what choices read
SPLIT_RECORDS = {"train": TRAIN_RECORD, "validation": VALIDATION_RECORD, "eval": EVAL_RECORD}
LABEL_MAP = "label_map.pbtxt"
DATASET_SUMMARY = "dataset.json"
SKIP_REPORT = "skip_report.csv"
CONTACT_SHEET = "contact_sheet.png"

DEMO_PORT = 7860  # Gradio's own default port
