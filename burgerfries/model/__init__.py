"""The SSD detectors: anchors, box coder, matcher, losses, backbone, necks, heads, post-processing."""

MODEL_NAMES = ("ssd_mobilenet_v2_320x320", "ssd_mobilenet_v2_fpnlite_320x320")
