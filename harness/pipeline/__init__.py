"""The pipeline stages (prepare, train, index, evaluate); each reads files and writes files atomically."""
