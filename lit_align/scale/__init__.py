"""Scale: strategy presets and resolution, the process launcher, rank-aware helpers,
consolidating sharded weights between tasks."""
