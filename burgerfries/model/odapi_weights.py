"""Load TF Object Detection API (TF2) checkpoints — the model-zoo archives users fine-tune from —
into our layers, by name, with one table per model.

The tables name, for each of our layers, the object path of the OD API's Keras model in its
checkpoint (`model/_feature_extractor/...`). MobileNetV2's layers are indexed by the OD API as
`classification_backbone/layer_with_weights-N`, N counting the application's layers that hold
weights in order; our backbone builds the same layers in the same order (`backbone_layer_names`).

What is restored (`RESTORE_MODES`, every restored and skipped variable listed in the report):
- `detection` — the OD API's `fine_tune_checkpoint_type: detection` (the zoo configs' setting; its
  `ssd_meta_arch` restores `_feature_extractor` only): the backbone and the SSD extra layers, or the
  backbone, the FPN and its coarse layers. The whole box predictor — box and class heads, and
  FPNLite's shared prediction tower with its batch norms — keeps its initialisers.
- `detection_and_box_predictor` — also the box predictor's layers, except the class heads, whose
  shape depends on num_classes (the zoo has 90 classes); what `detection` did here before.
- `full` — every variable whose shape matches, class heads included (the OD API's `full`), e.g.
  to reproduce a checkpoint's own outputs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

from burgerfries.model import DEFAULT_RESTORE, RESTORE_MODES
from burgerfries.model.mobilenet_v2 import BLOCKS

SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
FEATURE = "model/_feature_extractor/"
PREDICTOR = "model/_box_predictor/"
SSD_MARKER = FEATURE + "feature_map_generator/"
FPN_MARKER = FEATURE + "_fpn_features_generator/"
KIND_NAMES = {
    "ssd_mobilenet_v2_keras": "ssd_mobilenet_v2_320x320",
    "ssd_mobilenet_v2_fpn_keras": "ssd_mobilenet_v2_fpnlite_320x320",
}


DETECTION = DEFAULT_RESTORE


class CheckpointMismatchError(ValueError):
    """An OD-API checkpoint that does not belong to this model; the message names both."""


@dataclass
class RestoreReport:
    checkpoint: str
    pipeline_config: Path | None = None  # the archive's, when it came with one
    restored: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (variable, why)

    def summary(self) -> str:
        """One line: the variables restored, then the new ones counted by why they are new (the
        run's initial_weights_report.txt lists each)."""
        reasons = Counter(why.split(":")[0] for _, why in self.skipped)
        new = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
        return f"{len(self.restored)} variables restored from {self.checkpoint}" + (f"; new: {new}" if new else "")


def backbone_layer_names() -> list[str]:
    names = ["Conv1", "bn_Conv1"]
    for block_id in range(len(BLOCKS)):
        prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
        parts = ["depthwise", "depthwise_BN", "project", "project_BN"]
        if block_id:
            parts = ["expand", "expand_BN"] + parts
        names += [prefix + part for part in parts]
    return names + ["Conv_1", "Conv_1_bn"]


def layer_table(
    model_kind: str, num_feature_maps: int = 6, num_tower_layers: int = 4, num_levels: int = 5
) -> dict[str, str]:
    """Our layer name → the OD API's checkpoint path of the same layer."""
    table = {
        name: f"{FEATURE}classification_backbone/layer_with_weights-{index}"
        for index, name in enumerate(backbone_layer_names())
    }
    if model_kind == "ssd_mobilenet_v2_keras":
        for index in range(2, num_feature_maps):
            base = f"{SSD_MARKER}convolutions/{index}"
            table.update(
                {
                    f"feature_map_{index}_1x1": f"{base}/0",
                    f"feature_map_{index}_1x1_batchnorm": f"{base}/1",
                    f"feature_map_{index}_3x3": f"{base}/3",
                    f"feature_map_{index}_3x3_batchnorm": f"{base}/4",
                }
            )
        for index in range(num_feature_maps):
            table[f"box_encodings_{index}"] = (
                f"{PREDICTOR}_prediction_heads/box_encodings/{index}/_box_encoder_layers/0"
            )
            table[f"class_predictions_{index}"] = (
                f"{PREDICTOR}_prediction_heads/class_predictions_with_background/{index}/_class_predictor_layers/0"
            )
    else:
        table.update(
            {
                "projection_3": f"{FPN_MARKER}top_layers/0",
                "projection_2": f"{FPN_MARKER}residual_blocks/0/0",
                "projection_1": f"{FPN_MARKER}residual_blocks/1/0",
                "smoothing_2": f"{FPN_MARKER}conv_layers/0/0",
                "smoothing_2_batchnorm": f"{FPN_MARKER}conv_layers/0/1",
                "smoothing_1": f"{FPN_MARKER}conv_layers/1/0",
                "smoothing_1_batchnorm": f"{FPN_MARKER}conv_layers/1/1",
                "BoxPredictor": f"{PREDICTOR}_box_prediction_head/_box_encoder_layers/0",
                "ClassPredictor": (
                    f"{PREDICTOR}_prediction_heads/class_predictions_with_background/_class_predictor_layers/0"
                ),
            }
        )
        for coarse in range(2):
            table[f"bottom_up_Conv2d_{14 + coarse}_conv"] = f"{FEATURE}_coarse_feature_layers/{coarse}/0"
            table[f"bottom_up_Conv2d_{14 + coarse}_batchnorm"] = f"{FEATURE}_coarse_feature_layers/{coarse}/1"
        for layer in range(num_tower_layers):
            table[f"PredictionTower_{layer}"] = f"{PREDICTOR}_head_scope_conv_layers/PredictionTower/{layer}"
            for level in range(num_levels):
                table[f"PredictionTower_{layer}_batchnorm_level_{level}"] = (
                    f"{PREDICTOR}_base_tower_layers_for_heads/box_encodings/{level}/{1 + 3 * layer}"
                )
    return table


def _variable_name(layer: keras.layers.Layer, variable: keras.Variable) -> str:
    """The OD API's (Keras 2) name of one of our layer's variables."""
    name = variable.path.rsplit("/", 1)[-1]
    if isinstance(layer, keras.layers.DepthwiseConv2D) and name == "kernel":
        return "depthwise_kernel"  # Keras 3 renamed it
    return name


def _named_variables(model: keras.Model, model_kind: str) -> Iterator[tuple[str, str, keras.Variable]]:
    """(our layer name, the OD API's checkpoint name, variable) for every variable of a mapped layer."""
    for layer_name, path_prefix in layer_table(model_kind).items():
        try:
            layer = model.get_layer(layer_name)
        except ValueError:
            continue
        for variable in layer.weights:
            yield layer_name, f"{path_prefix}/{_variable_name(layer, variable)}", variable


def checkpoint_kind(variable_names: set[str]) -> str:
    if any(name.startswith(FPN_MARKER) for name in variable_names):
        return "ssd_mobilenet_v2_fpn_keras"
    if any(name.startswith(SSD_MARKER) for name in variable_names):
        return "ssd_mobilenet_v2_keras"
    raise CheckpointMismatchError(
        "not a TF Object Detection API SSD-MobileNet-v2 checkpoint "
        "(no feature_map_generator or _fpn_features_generator variables)"
    )


def resolve_odapi_checkpoint(path: Path) -> tuple[str, Path | None]:
    """A `ckpt-N` prefix, a `checkpoint/` folder, or an extracted zoo archive → (prefix, pipeline.config or None)."""
    path = Path(path)
    for folder in (path, path / "checkpoint"):
        if folder.is_dir():
            latest = tf.train.latest_checkpoint(str(folder))
            if latest is None:
                indexes = sorted(folder.glob("ckpt-*.index"))
                latest = str(indexes[-1].with_suffix("")) if indexes else None
            if latest:
                config = next(
                    (c for c in (folder / "pipeline.config", folder.parent / "pipeline.config") if c.is_file()), None
                )
                return latest, config
    if Path(f"{path}.index").is_file():
        config = next(
            (c for c in (path.parent / "pipeline.config", path.parent.parent / "pipeline.config") if c.is_file()), None
        )
        return str(path), config
    raise FileNotFoundError(
        f"{path}: no OD-API checkpoint (expected ckpt-N.index, a checkpoint/ folder or a zoo archive)"
    )


def is_odapi_checkpoint(path: Path) -> bool:
    try:
        prefix, _ = resolve_odapi_checkpoint(path)
    except FileNotFoundError:
        return False
    return any(name.startswith(FEATURE) for name, _ in tf.train.list_variables(prefix))


def load_odapi_checkpoint(model: keras.Model, model_kind: str, path: Path, restore: str = DETECTION) -> RestoreReport:
    """Copy an OD-API checkpoint's variables into `model`, as much as `restore` (one of
    RESTORE_MODES, see the module) says; a variable whose shape differs is never restored. A
    checkpoint of the other model, or one from which nothing can be restored, is an error.
    """
    if restore not in RESTORE_MODES:
        raise ValueError(f"restore {restore!r}: expected one of {', '.join(RESTORE_MODES)}")
    prefix, pipeline_config = resolve_odapi_checkpoint(path)
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    stored = {name[: -len(SUFFIX)] for name in shapes if name.endswith(SUFFIX)}
    found_kind = checkpoint_kind(stored)
    if found_kind != model_kind:
        raise CheckpointMismatchError(
            f"{prefix} is a {KIND_NAMES[found_kind]} checkpoint; the model being trained is {KIND_NAMES[model_kind]}"
        )
    report = RestoreReport(prefix, pipeline_config)
    head_layers = {"class_predictions", "ClassPredictor"}
    for layer_name, source, variable in _named_variables(model, model_kind):
        if source not in stored:
            report.skipped.append((variable.path, f"not in the checkpoint: {source}"))
            continue
        value = reader.get_tensor(source + SUFFIX)
        is_class_head = any(layer_name.startswith(head) for head in head_layers)
        if tuple(value.shape) != tuple(variable.shape):
            shapes = f"shape {tuple(value.shape)} in the checkpoint, {tuple(variable.shape)} here"
            what = "class head for this label map's classes" if is_class_head else "shape differs from the checkpoint's"
            report.skipped.append((variable.path, f"{what}: {shapes}"))
            continue
        if restore == DETECTION and not source.startswith(FEATURE):
            report.skipped.append((variable.path, "box predictor (restore detection): the feature extractor only"))
            continue
        if is_class_head and restore != "full":
            report.skipped.append((variable.path, f"class head (restore {restore}): learnt for this label map"))
            continue
        variable.assign(value)
        report.restored.append(variable.path)
    if not report.restored:
        raise CheckpointMismatchError(f"{prefix}: no variable could be restored into {model.name}")
    return report


def save_odapi_checkpoint(model: keras.Model, model_kind: str, prefix: Path) -> Path:
    """Write `model`'s variables under the OD API's checkpoint names (the inverse of
    `load_odapi_checkpoint`), so weights made here load through the same code, with the same
    restore modes, as a zoo archive. Returns the folder; the files are `ckpt-1.*` in it.

    Only variable values are written, not the OD API's object graph: the OD API itself cannot
    restore from these files.
    """
    names, values = [], []
    for _, source, variable in _named_variables(model, model_kind):
        names.append(source + SUFFIX)
        values.append(tf.convert_to_tensor(variable))
    if len(names) != len(model.weights):
        raise CheckpointMismatchError(f"{model.name}: {len(model.weights) - len(names)} variables have no OD-API name")
    folder = Path(prefix)
    folder.mkdir(parents=True, exist_ok=True)
    tf.raw_ops.SaveV2(
        prefix=str(folder / "ckpt-1"), tensor_names=names, shape_and_slices=[""] * len(names), tensors=values
    )
    return folder


PIPELINE_FIELDS = {
    "height": (r"fixed_shape_resizer\s*\{[^}]*height:\s*(\d+)", "model.ssd.image_resizer.fixed_shape_resizer.height"),
    "width": (r"fixed_shape_resizer\s*\{[^}]*width:\s*(\d+)", "model.ssd.image_resizer.fixed_shape_resizer.width"),
    "depth_multiplier": (
        r"feature_extractor\s*\{[^}]*?depth_multiplier:\s*([\d.]+)",
        "model.ssd.feature_extractor.depth_multiplier",
    ),
    "min_depth": (r"feature_extractor\s*\{[^}]*?min_depth:\s*(\d+)", "model.ssd.feature_extractor.min_depth"),
}


def pipeline_differences(pipeline_config: Path, config: dict) -> list[str]:
    """Fields of an archive's pipeline.config that differ from the model config we train with."""
    from burgerfries.model.config import get

    text = Path(pipeline_config).read_text()
    differences = []
    for pattern, dotted in PIPELINE_FIELDS.values():
        match = re.search(pattern, text, re.S)
        if match is None:
            continue
        theirs, ours = float(match.group(1)), float(get(config, dotted))
        if theirs != ours:
            differences.append(f"{dotted}: {match.group(1)} in {pipeline_config.name}, {ours:g} here")
    return differences
