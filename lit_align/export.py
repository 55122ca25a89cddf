"""`lit-align export`: a finished (or interrupted) run's last policy as a Hugging Face model
directory. A command module: it reads run state and configs, so it sits above them."""

from __future__ import annotations

from pathlib import Path

from lit_align.hf_export import export_policy


def export_run(run_dir: str | Path, out: str | Path | None = None, *, merge_lora: bool = True) -> tuple[Path, str]:
    """`lit-align export`: the policy of a run's last completed task (a single-file or a sharded
    multi-process checkpoint) as a Hugging Face model directory. Returns it and the task's name."""
    import json

    from lit_align.config.load import load_config
    from lit_align.continual.paths import contained
    from lit_align.continual.state import STATE_FILE, load_checkpoint
    from lit_align.errors import UserError
    from lit_align.validation.config import parse_run_config

    run = Path(run_dir)
    state_path, config_path = run / STATE_FILE, run / "config.yaml"
    if not state_path.is_file() or not config_path.is_file():
        raise UserError(f"{run} is not a lit-align run directory (no {STATE_FILE} or config.yaml); give the "
                        f"output_dir of a run that completed at least one task")
    state = json.loads(state_path.read_text())
    if not state.get("checkpoint"):
        raise UserError(f"{state_path} names no checkpoint: no task of this run has completed yet")
    config = parse_run_config(load_config([str(config_path)], []), check_data=False)
    policy = config.model.instantiate().build()
    load_checkpoint(contained(run, state["checkpoint"]), policy.model)
    task = state["completed"][-1]
    target = Path(out) if out is not None else contained(run, "export", task)
    return export_policy(policy, target, merge_lora=merge_lora), task
