"""`lit-align study run|status|report`: a study file's grid through the ordinary runner.

`run` plans every run (arms x orders x seeds), refuses a study file that changed under an
existing output directory except by adding arms, orders or seeds, runs each seed's `prepare`
hook once, writes each run's `config.yaml` and hands the unfinished runs to the launcher. A
finished run (`results.json` complete) is never run again; a killed one resumes through the
runner's own state; a failed one is recorded with its error line and the study goes on.
`report` aggregates whatever has finished and says which runs are missing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lit_align.config.load import save_config, to_yaml
from lit_align.contracts import ExtensionError, describe, expect_instance, qualified_name
from lit_align.errors import ConfigError, UserError
from lit_align.io import atomic_write_json, atomic_write_text
from lit_align.study.check import resolve_hook
from lit_align.study.expand import PlannedRun, plan_runs, prepared_dir
from lit_align.study.launcher import Launcher, RunJob, RunOutcome
from lit_align.study.metrics import read_metric
from lit_align.study.schema import StudyConfig

STUDY_FILE = "study.yaml"  # the study as first run: later runs may only add to its grid
FAILURE_FILE = "study_failure.json"
EXTRA_METRICS_FILE = "study_metrics.json"


@dataclass(frozen=True)
class RunStatus:
    run: PlannedRun
    state: str  # "done", "failed", "pending"
    error: str | None = None


def results_of(run: PlannedRun) -> dict[str, Any] | None:
    path = run.run_dir / "results.json"
    if not path.is_file():
        return None
    results = json.loads(path.read_text())
    return results if results.get("complete") else None


def status_of(run: PlannedRun) -> RunStatus:
    if results_of(run) is not None:
        return RunStatus(run, "done")
    failure = run.run_dir / FAILURE_FILE
    if failure.is_file():
        return RunStatus(run, "failed", json.loads(failure.read_text()).get("error"))
    return RunStatus(run, "pending")


class Study:
    def __init__(self, config: StudyConfig, raw: dict[str, Any]) -> None:
        self.config = config
        self.raw = raw
        self.root = Path(config.output_dir)

    def plan(self) -> list[PlannedRun]:
        return plan_runs(self.config, self.root)

    # -- what changed since the first run ------------------------------------------------------
    def check_unchanged(self) -> list[str]:
        """What this study file adds to the one its output directory was started with; refuses
        any other change (a changed base, arm or verdict would mix two studies in one report)."""
        saved_path = self.root / STUDY_FILE
        if not saved_path.is_file():
            return []
        import yaml

        saved = yaml.safe_load(saved_path.read_text())
        added = []
        changed = []
        for key in ("arms", "orders"):
            old, new = saved.get(key) or {}, self.raw.get(key) or {}
            changed += [f"{key}.{name}" for name in old if name not in new or new[name] != old[name]]
            added += [f"{key}.{name}" for name in new if name not in old]
        old_seeds, new_seeds = saved.get("seeds") or [], self.raw.get("seeds") or []
        changed += [f"seeds: {s} removed" for s in old_seeds if s not in new_seeds]
        added += [f"seed {s}" for s in new_seeds if s not in old_seeds]
        new_arms = {a.split(".", 1)[1] for a in added if a.startswith("arms.")}
        verdicts_added, verdicts_changed = _added_verdicts(saved.get("verdicts") or [], self.raw.get("verdicts") or [],
                                                           new_arms)
        added += verdicts_added
        changed += verdicts_changed
        for key in sorted(set(saved) | set(self.raw)):
            # where and how the runs execute is not part of the question: launcher and tracking may change
            if key not in ("arms", "orders", "seeds", "launcher", "tracking", "verdicts") and \
                    saved.get(key) != self.raw.get(key):
                changed.append(key)
        if changed:
            raise UserError(f"{self.config.output_dir} holds this study as first run ({saved_path}) and the study "
                            f"file now differs at {', '.join(changed)}; only adding arms, orders or seeds is allowed "
                            f"(verdicts are written before the runs): restore the file or use a new output_dir")
        return added

    # -- running ----------------------------------------------------------------------------------
    def prepare(self, seed: int) -> None:
        """Run the study's `prepare` hook once per seed; a `.done` marker makes it idempotent."""
        if self.config.prepare is None:
            return
        directory = prepared_dir(self.root, seed)
        if (directory / ".done").exists():
            return
        directory.mkdir(parents=True, exist_ok=True)
        hook = resolve_hook(self.config.prepare, "prepare")
        returned = hook(directory, seed)
        if returned is not None:
            raise ExtensionError(f"prepare hook {qualified_name(hook)} returned {describe(returned)}; it must write "
                                 f"into the directory it is given and return None")
        (directory / ".done").write_text("")

    def after_run(self, run: PlannedRun, results: dict[str, Any]) -> dict[str, float]:
        """The `after_run` hook's extra metrics of a finished run, computed once and kept beside it."""
        if self.config.after_run is None:
            return {}
        path = run.run_dir / EXTRA_METRICS_FILE
        if path.is_file():
            return json.loads(path.read_text())
        hook = resolve_hook(self.config.after_run, "after_run")
        returned = expect_instance(hook(run.run_dir, results), dict, f"after_run hook {qualified_name(hook)}",
                                   "a dict of metric name -> number")
        bad = [k for k, v in returned.items() if not isinstance(v, (int, float)) or isinstance(v, bool)]
        if bad:
            raise ExtensionError(f"after_run hook {qualified_name(hook)} returned non-numbers for {', '.join(bad)}; "
                                 f"it must return a dict of metric name -> number")
        atomic_write_json(path, returned)
        return returned

    def record(self, outcome: RunOutcome) -> None:
        failure = outcome.job.run_dir / FAILURE_FILE
        if outcome.returncode == 0:
            failure.unlink(missing_ok=True)
            return
        atomic_write_json(failure, {"returncode": outcome.returncode, "error": outcome.error})

    def run(self, launcher: Launcher | None = None, arms: list[str] | None = None,
            orders: list[str] | None = None) -> list[RunStatus]:
        """Run the unfinished runs (of `arms` and `orders` only, when given: the report still
        covers them all)."""
        runs = self.plan()
        added = self.check_unchanged()
        if added:
            print(f"[study] {self.config.name}: adding {', '.join(added)} to the existing runs", flush=True)
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / STUDY_FILE).is_file() or added:
            atomic_write_text(self.root / STUDY_FILE, to_yaml(self.raw))
        unknown = sorted(set(arms or []) - set(self.config.arms))
        if unknown:
            raise UserError(f"--arms: {', '.join(unknown)} is not an arm of {self.config.name} "
                            f"(arms: {', '.join(self.config.arms)})")
        unknown = sorted(set(orders or []) - set(self.config.order_names))
        if unknown:
            raise UserError(f"--orders: {', '.join(unknown)} is not an order of {self.config.name} "
                            f"(orders: {', '.join(self.config.order_names)})")
        unfinished = [r for r in runs if status_of(r).state != "done"]
        pending = [r for r in unfinished if (not arms or r.arm in arms) and (not orders or r.order in orders)]
        print(f"[study] {self.config.name}: {len(runs)} runs, {len(runs) - len(unfinished)} done, "
              f"{len(pending)} to run" + (f" now ({len(unfinished) - len(pending)} left for later)"
                                          if len(pending) < len(unfinished) else ""), flush=True)
        for seed in sorted({r.seed for r in pending}):
            self.prepare(seed)
        if self.config.prepare is not None:  # what the hook wrote is checked now, before any run starts
            from lit_align.study.check import run_problems

            problems = run_problems(pending, self.root, check_data=True, check_machine=True)
            if problems:
                raise ConfigError(problems)
        jobs = []
        for run in pending:
            save_config(run.config, run.run_dir / "config.yaml")  # makes the directory; fit rewrites it unchanged
            jobs.append(RunJob(run.label, run.run_dir, run.run_dir / "config.yaml"))
        launcher = launcher or self.config.launcher.instantiate()
        for outcome in launcher.launch(jobs):
            self.record(outcome)
            state = "done" if outcome.returncode == 0 else f"failed: {outcome.error}"
            print(f"[study] {outcome.job.label}: {state}", flush=True)
        statuses = [status_of(r) for r in runs]
        self.report(runs)
        return statuses

    # -- reading ----------------------------------------------------------------------------------
    def status(self) -> list[RunStatus]:
        return [status_of(r) for r in self.plan()]

    def values(self, runs: list[PlannedRun]) -> tuple[dict[str, dict[Any, dict[str, float]]], list[dict[str, Any]]]:
        """arm -> (order, seed) -> metric -> value, and one record per run for study.json."""
        values: dict[str, dict[Any, dict[str, float]]] = {arm: {} for arm in self.config.arms}
        records = []
        for run in runs:
            results = results_of(run)  # read once: a finished run's status follows from it
            status = RunStatus(run, "done") if results is not None else status_of(run)
            record: dict[str, Any] = {"arm": run.arm, "order": run.order, "seed": run.seed,
                                      "run_dir": str(run.run_dir.relative_to(self.root)), "status": status.state}
            if results is not None:
                extra = self.after_run(run, results)
                metrics = {m: read_metric(results, m, extra) for m in self.config.metrics}
                values[run.arm][run.key] = metrics
                record |= {"metrics": {k: (None if math.isnan(v) else v) for k, v in metrics.items()},
                           "matrix": results.get("matrix"), "splits": results.get("splits"),
                           "wall_seconds": (results.get("timings") or {}).get("wall"),
                           "per_example": str((run.run_dir / "per_example.json").relative_to(self.root))}
                answers = run.run_dir / "generations.jsonl"
                if answers.is_file():  # a run that generated keeps every answer there
                    record["generations"] = str(answers.relative_to(self.root))
            elif status.error:
                record["error"] = status.error
            records.append(record)
        return values, records

    def report(self, runs: list[PlannedRun] | None = None) -> dict[str, Any]:
        from lit_align.study.report import write_report

        runs = runs if runs is not None else self.plan()
        values, records = self.values(runs)
        report = write_report(self.config, self.root, values, records, self.judges())
        if self.config.tracking is not None:
            from lit_align.study.tracking import log_study

            uri = self.config.tracking.tracking_uri or f"sqlite:///{self.root.resolve() / 'mlflow.db'}"
            log_study(report, self.root, uri, self.config.tracking.experiment)
        return report

    def judges(self) -> dict[str, Any]:
        """Each labelled split's judge agreement (lit_align/study/labels.py)."""
        from lit_align.study.labels import judge_agreement

        folder = self.root / "labels"
        splits = sorted(p.name.removesuffix(".labels.jsonl") for p in folder.glob("*.labels.jsonl")) \
            if folder.is_dir() else []
        return {split: found for split in splits if (found := judge_agreement(self.root, split)) is not None}

    def write_labels(self, split: str, n: int, seed: int = 0) -> tuple[Path, Path]:
        from lit_align.study.labels import write_blind

        done = [r.run_dir for r in self.plan() if status_of(r).state == "done"]
        return write_blind(self.root, done, split, n, seed)


def _added_verdicts(old: list[dict[str, Any]], new: list[dict[str, Any]], new_arms: set[str]
                    ) -> tuple[list[str], list[str]]:
    """A verdict may be appended with the arms it judges (no run of them exists yet, so it is still
    written before its runs); an existing verdict may not change, nor a new one judge an old arm."""
    if new[: len(old)] != old:
        return [], ["verdicts"]
    added, changed = [], []
    for verdict in new[len(old):]:
        judged = {check.get("args", {}).get("arm") for check in verdict.get("checks") or []}
        if judged <= new_arms:
            added.append(f"verdicts.{verdict.get('name')}")
        else:
            changed.append(f"verdicts.{verdict.get('name')} (judges {', '.join(sorted(map(str, judged - new_arms)))}, "
                           f"whose runs exist)")
    return added, changed


def load_study(path: str, overrides: list[str] | None = None, *, check_data: bool = True) -> Study:
    from lit_align.study.check import parse_study
    from lit_align.study.schema import looks_like_study

    raw = load_study_raw(path, overrides)
    if not looks_like_study(raw):
        raise ConfigError(f"{path} is not a study file (it has no 'arms'); run a run config with lit-align fit")
    return Study(parse_study(raw, check_data=check_data), raw)


def load_study_raw(path: str, overrides: list[str] | None = None) -> dict[str, Any]:
    """The study file resolved, except an inline `base` and the arms: their interpolations
    (`${vars.study.*}`, the base's own `vars`) resolve in each run's config."""
    from omegaconf import OmegaConf

    from lit_align.config.load import apply_overrides, load_tree, resolve_tree

    tree = load_tree([path])
    if overrides:  # `base.trainer.max_steps=4` reaches the base too: applied before anything resolves
        tree = OmegaConf.to_container(apply_overrides(OmegaConf.create(tree), overrides), resolve=False)
    per_run = {key: tree.pop(key) for key in ("base", "arms") if key in tree}
    return resolve_tree(tree) | per_run
