"""The `sweep` job and what serves it: the job itself (`job.py`: the plan, the phases in order, the
final picks and the report), a worker's trial runner (`runner.py`), the sweep's MLflow bookkeeping
(`runs.py`), the local worker processes (`workers.py`) and the registration of the final picks
(`registry.py`). Nothing is imported here, so that the command line can read `workers.py`'s
defaults without starting TensorFlow."""
