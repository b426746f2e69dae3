"""Method folders: one per method, each with method.py (its spec), its model code, params.yaml and README.md."""
