"""The report, from data frames: read points and plateaus, each phase's decision (shared with the
sweep), the study's tables and the offline HTML page. The report job reads the runs from MLflow."""
