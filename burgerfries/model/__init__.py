"""The SSD detectors: anchors, box coder, matcher, losses, backbone, necks, heads, post-processing."""

MODEL_NAMES = ("ssd_mobilenet_v2_320x320", "ssd_mobilenet_v2_fpnlite_320x320")
# The model `train` uses unless told: FPNLite. From the shipped weights on a real 6-class photo set
# (../shared/datasets/cards, 3 seeds) it is far ahead of SSD; on macncheese (one class) the two do
# not differ (bench/RESULTS.md, "Real multi-class photos: the levers on cards").
DEFAULT_MODEL = "ssd_mobilenet_v2_fpnlite_320x320"
# How much of an OD-API checkpoint `--weights` restores (burgerfries/model/odapi_weights.py says
# what each restores); the first is the default, the OD API's fine_tune_checkpoint_type: detection.
RESTORE_MODES = ("detection", "detection_and_box_predictor", "full")
DEFAULT_RESTORE = RESTORE_MODES[0]
