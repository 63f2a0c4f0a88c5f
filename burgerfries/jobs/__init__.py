"""The jobs users run — data_prep, train, evaluate, export, predict, demo, sweep, report — and the only
package (with `burgerfries/tracking/`) that talks to MLflow. A job reads its settings, calls the
library, and records what happened."""
