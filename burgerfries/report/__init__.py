"""The report, from data frames: plateau points, the one ranking of configurations (shared with the
sweep), the study's tables and the offline HTML page. The report job reads the runs from MLflow."""
