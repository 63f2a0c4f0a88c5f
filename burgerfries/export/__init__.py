"""Export a trained run in the forms people deploy.

- `saved_model/`: `serving_default` takes `input_tensor` uint8 [1, H, W, 3] (any H, W; resized
  inside) and returns the TF OD API's keys — `detection_boxes` (normalised ymin, xmin, ymax,
  xmax), `detection_classes` (1-based label-map ids, float), `detection_scores`,
  `num_detections` — plus `raw_detection_boxes`/`raw_detection_scores` as OD-API exports do, so
  code written for OD-API exported models works unchanged.
- `model.tflite`: float, built-in ops only (runs on any TFLite runtime, no Flex delegate). Input
  uint8 [1, h, w, 3] at the model's fixed size (resize before calling); outputs
  `raw_detection_boxes` [1, A, 4] and `raw_detection_scores` [1, A, C+1] (sigmoid; column 0 is the
  background slot). Post-processing is left to the app, as documented in the README:
  per-class NMS, IoU 0.6, score ≥ 1e-8, 100 detections (`tflite_postprocess` does exactly that).
- the export job also logs an MLflow pyfunc model (`model` artifact of the run) taking
  base64-encoded images, with signature and input example, optionally registered under a name.

Here: writing both files (`saved_model.py`), running them (`loading.py`, `tflite.py`), checking
them against the checkpoint (`check.py`) and the demo page (`demo_app.py`).
"""
