"""Evaluation on the eval split: COCO metrics (COCOeval), eval losses, wrong detections, and
pictures of what a detector found. Nothing here logs anywhere; the jobs do."""

SCORE_THRESHOLD = 0.5  # a detection scoring at least this is one a person would be shown
