"""Evaluation on the eval split: COCO metrics (pycocotools), eval losses, wrong detections, and
pictures of what a detector found. Nothing here logs anywhere; the jobs do."""
