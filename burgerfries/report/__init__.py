"""The report: plateau points, the winner rule and the study's tables (pure pandas), MLflow
reading (reader.py only) and the offline HTML page (html.py)."""
