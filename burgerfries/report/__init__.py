"""The report: renders what `runs/` and `decision/` computed (headline, phase tables, curves,
finalists) as an offline HTML page. Only the report job imports it."""
