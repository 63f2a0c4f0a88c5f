"""Studies shipped with the package (sweep YAMLs); `original_study.yaml` is the default sweep."""
