"""Task sequences: the runner that chains stages over preference domains."""
