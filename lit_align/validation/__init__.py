"""Checks a run's config against everything it touches before anything trains: component
signatures, task names, data sources and columns, the model file, the Lightning Trainer and
the scaling strategy. Top floor: it may import any package; only the CLI imports it."""
