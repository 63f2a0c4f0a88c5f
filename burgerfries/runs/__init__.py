"""A set of finished runs read once into tables: one summary row per run at its read point (where
its eval loss starts to flatten), configuration keys and labels, and the analysis settings that
say how a curve is read. Below `decision/`, which decides from these tables; no MLflow here (the
tracking reader fills a `RunSet`)."""
