"""Continual baselines and methods: DPO variants that carry state across tasks."""
