"""The flmr method (see README.md in this folder)."""
