"""The dpr method (see README.md in this folder)."""
