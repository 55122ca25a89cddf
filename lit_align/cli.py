"""`lit-align`: one verb per command; dispatch only.

Heavy libraries are imported inside the command functions, so `--help` is fast.
User errors exit with code 2 and a one-line message (the traceback only with
`--debug`); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from lit_align.continual.interrupt import Interrupted, exit_code
from lit_align.errors import UserError

EXIT_USER_ERROR = 2


def _load(args: argparse.Namespace) -> dict[str, Any]:
    from lit_align.config.load import load_config

    return load_config(args.config, args.overrides)


def cmd_validate(args: argparse.Namespace) -> int:
    from lit_align.errors import ConfigError
    from lit_align.study.schema import looks_like_study
    from lit_align.validation.config import validate_config

    raw = _load_validated_file(args)
    if looks_like_study(raw):
        from lit_align.study.check import study_problems

        problems = study_problems(raw, check_data=not args.skip_data, check_machine=not args.skip_machine)
    else:
        problems = validate_config(raw, check_data=not args.skip_data, check_machine=not args.skip_machine)
    if problems:
        raise ConfigError(problems)
    print(f"ok: {', '.join(args.config)} is valid")
    return 0


def _load_validated_file(args: argparse.Namespace) -> dict[str, Any]:
    """A run config, or a study file (its inline base resolves per run, so it is read unresolved)."""
    if len(args.config) == 1:
        from lit_align.config.load import load_tree
        from lit_align.study.schema import looks_like_study

        if looks_like_study(load_tree(args.config)):
            from lit_align.study.engine import load_study_raw

            return load_study_raw(args.config[0], args.overrides)
    return _load(args)


def cmd_study(args: argparse.Namespace) -> int:
    from lit_align.study.engine import load_study

    study = load_study(args.config, args.overrides, check_data=args.action not in ("report", "labels"))
    if args.action == "labels":
        blind, labels = study.write_labels(args.split, args.n, args.seed)
        print(f"blind answers: {blind}\nlabel them in: {labels} (follows, sound: true or false; commit before "
              f"`study report` computes agreement)")
        return 0
    if args.action == "run":
        statuses = study.run(arms=args.arms, orders=args.orders)
    elif args.action == "report":
        study.report()
        statuses = study.status()
    else:
        statuses = study.status()
        for s in statuses:
            print(f"{s.run.label}: {s.state}" + (f" ({s.error})" if s.error else ""))
    counts = {state: sum(s.state == state for s in statuses) for state in ("done", "failed", "pending")}
    print(f"{study.config.name}: {counts['done']} done, {counts['failed']} failed, {counts['pending']} pending"
          + (f"; report: {study.root / 'study.md'}" if args.action != "status" else ""))
    return 0 if args.action != "run" or counts["failed"] == 0 else 1


def _add_study_parser(sub: Any) -> None:
    text = "run a study file (arms x orders x seeds of one base config), show its status, or report it"
    p = _command(sub, "study", text, cmd_study)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, help_text in (("run", "run the unfinished runs (resumable), then report"),
                              ("status", "list each run's state: done, failed (with its error) or pending"),
                              ("report", "write study.json, study.md and plots from the finished runs"),
                              ("labels", "draw a blind sample of trained-model answers on one split to hand-label")):
        a = _command(actions, action, help_text, cmd_study)
        a.add_argument("--config", "-c", required=True, metavar="YAML", help="the study file (docs/studies.md)")
        if action == "run":
            a.add_argument("--arms", nargs="+", metavar="ARM", help="only these arms now (the report covers all)")
            a.add_argument("--orders", nargs="+", metavar="ORDER", help="only these task orders now")
        if action == "labels":
            a.add_argument("--split", required=True, help="the eval split (domain) whose judges to check")
            a.add_argument("--n", type=int, default=48, help="answers to label (J1 asks >= 40)")
            a.add_argument("--seed", type=int, default=0, help="seed of the draw")
        a.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                       help="dotlist overrides of the study file, e.g. seeds=[0] base.trainer.max_steps=4")


def cmd_print_config(args: argparse.Namespace) -> int:
    from lit_align.config.load import to_yaml

    print(to_yaml(_load(args)), end="")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from lit_align.continual.runner import TaskSequenceRunner
    from lit_align.scale.launch import launch_local_ranks
    from lit_align.scale.strategies import processes_per_node
    from lit_align.validation.config import parse_run_config

    raw = _load(args)
    config = parse_run_config(raw)
    workers = launch_local_ranks(processes_per_node(config.trainer), int(config.trainer.get("num_nodes", 1)),
                                 args.argv)
    try:
        TaskSequenceRunner(config, raw).run()
    except BaseException:
        if workers is not None:
            workers.stop()
        raise
    return workers.wait() if workers is not None else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from lit_align.evaluate import evaluate_run
    from lit_align.validation.config import parse_run_config

    raw = _load(args)
    evaluate_run(parse_run_config(raw), checkpoint=args.checkpoint)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lit_align.compare import markdown_table, rows_from_dirs, rows_from_mlflow, write_comparison

    if bool(args.experiment) == bool(args.runs):
        from lit_align.errors import UserError

        raise UserError("give either --experiment NAME (with --tracking-uri) or --runs DIR [DIR ...]")
    if args.experiment:
        _check_tracking_uri(args.tracking_uri)
    rows = rows_from_mlflow(args.tracking_uri, args.experiment) if args.experiment else rows_from_dirs(args.runs)
    print(markdown_table(rows), end="")
    if args.out is None:  # no place was given: print only, never write into the working directory
        print("(pass --out DIR to also write comparison.md, comparison.csv and comparison.png)")
        return 0
    paths = write_comparison(rows, Path(args.out))
    print(f"written: {', '.join(str(p) for p in paths)}")
    return 0


def _check_tracking_uri(uri: str | None) -> None:
    """Never look in (and so create) an empty store: say where runs keep theirs."""
    from pathlib import Path

    from lit_align.errors import UserError

    if uri is None:
        raise UserError("compare --experiment needs --tracking-uri: each run logs to its own store, "
                        "sqlite:///<output_dir>/mlflow.db, unless its config set tracking.tracking_uri; "
                        "or compare output directories with --runs DIR [DIR ...]")
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise UserError(f"--tracking-uri {uri}: no such MLflow database file; give the mlflow.db of a run "
                        f"(sqlite:///<output_dir>/mlflow.db)")


EXIT_GATE_FAILED = 1


def cmd_compat(args: argparse.Namespace) -> int:
    from lit_align.compat import load_compat_config, log_to_mlflow, run_compat, table
    from lit_align.io import atomic_write_json

    report = run_compat(args.old, args.new, load_compat_config(args.data), seed=args.seed)
    print(table(report), end="")
    if args.out:
        atomic_write_json(args.out, report)
        print(f"written: {args.out}")
    if args.tracking_uri:
        run_id = log_to_mlflow(report, args.tracking_uri, args.experiment)
        print(f"mlflow run {run_id} in experiment {args.experiment!r}")
    nfr = report["overall"]["nfr"]
    if args.max_nfr is not None and nfr > args.max_nfr:
        print(f"lit-align compat: gate failed: NFR {nfr:.4f} > --max-nfr {args.max_nfr}", file=sys.stderr)
        return EXIT_GATE_FAILED
    return 0


def _add_compat_parser(sub: Any) -> None:
    text = "negative/positive flips between an old and a new model (a release gate with --max-nfr)"
    p = _command(sub, "compat", text, cmd_compat)
    p.add_argument("--old", required=True, help="old model: a Hugging Face directory (e.g. tasks/<name>/model) or id")
    p.add_argument("--new", required=True, help="new model, the same way")
    p.add_argument("--data", required=True, metavar="YAML", help="splits to compare on (see docs/methods/muscle.md)")
    p.add_argument("--out", help="write the report as JSON here")
    p.add_argument("--tracking-uri", help="also log an MLflow run (e.g. sqlite:///mlflow.db)")
    p.add_argument("--experiment", default="lit-align-compat", help="MLflow experiment name")
    p.add_argument("--max-nfr", type=float, help="exit 1 when the overall negative flip rate is above this")
    p.add_argument("--seed", type=int, default=0)


def cmd_feedback(args: argparse.Namespace) -> int:
    import json

    from lit_align.feedback.build import build_feedback_data, evaluate_model, load_feedback_config
    from lit_align.io import atomic_write_json

    cfg, raw = load_feedback_config(args.config, args.overrides)
    if args.action == "build":
        report = build_feedback_data(cfg, raw, force=args.force)
        state = "reused (same config; --force rebuilds)" if report["cached"] else "built"
        print(f"{state}: {report['train_rows']} training rows, test prompts {report['test_rows']}, "
              f"left out {report['left_out'] or 'nothing'} -> {cfg.output_dir}")
        return 0
    if not args.model and not args.in_context:
        raise UserError("lit-align feedback eval: give --model DIR (an exported model directory), or --in-context "
                        "to score pi_0 with the feedback in its prompt")
    report = evaluate_model(cfg, args.model, in_context=args.in_context)
    print(f"S_in {report['s_in']:.3f}  S_out {report['s_out']:.3f}  S_overall {report['s_overall']:.3f}  "
          + "  ".join(f"{s}: n={v['n']} unjudged={v['unjudged']}" for s, v in report["scopes"].items()))
    if args.out:
        atomic_write_json(args.out, report)
        print(f"written: {args.out}")
    else:
        print(json.dumps({k: report[k] for k in ("s_in", "s_out", "s_overall")}))
    return 0


def _add_feedback_parser(sub: Any) -> None:
    text = "C3PO data from verbal feedback: build (cached) or eval (S_in, S_out, S_overall)"
    p = _command(sub, "feedback", text, cmd_feedback)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, help_text in (("build", "generate and cache a feedback's train/test data"),
                              ("eval", "score an adapted model on the feedback's test prompts")):
        a = _command(actions, action, help_text, cmd_feedback)
        a.add_argument("--config", "-c", required=True, metavar="YAML", help="feedback data config "
                       "(docs/methods/c3po.md)")
        a.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="dotlist overrides, e.g. n_in=64")
        if action == "build":
            a.add_argument("--force", action="store_true", help="rebuild even if the cached data matches the config")
        else:
            a.add_argument("--model", metavar="DIR", help="the adapted model (an exported directory)")
            a.add_argument("--in-context", action="store_true", help="the feedback in the model's prompt, no "
                           "training (the model: --model, else the config's pi_0)")
            a.add_argument("--out", help="write the report as JSON here")


def cmd_export(args: argparse.Namespace) -> int:
    from lit_align.export import export_run

    out, task = export_run(args.run, args.out, merge_lora=not args.no_merge_lora)
    print(f"exported the policy after task {task!r} of {args.run} -> {out}")
    return 0


def _add_export_parser(sub: Any) -> None:
    text = "write the policy of a run's last completed task (any checkpoint, sharded too) as a HF model directory"
    p = _command(sub, "export", text, cmd_export)
    p.add_argument("--run", required=True, metavar="DIR", help="the run's output_dir")
    p.add_argument("--out", metavar="DIR", help="target directory (default <run>/export/<task>)")
    p.add_argument("--no-merge-lora", action="store_true", help="write only the LoRA adapter (load with peft)")


def cmd_compose(args: argparse.Namespace) -> int:
    from lit_align.compose import compose_updates

    out = compose_updates(args.base, args.updates, args.out, args.weights)
    print(f"composed {len(args.updates)} update(s) of {args.base} -> {out}")
    return 0


def _add_compose_parser(sub: Any) -> None:
    text = "add the weight deltas of several updates of one base (e.g. per-feedback C3PO adapters)"
    p = _command(sub, "compose", text, cmd_compose)
    p.add_argument("--base", required=True, help="the base model directory all updates started from")
    p.add_argument("--updates", nargs="+", required=True, metavar="DIR",
                   help="exported model directories or LoRA adapter directories")
    p.add_argument("--weights", nargs="+", type=float, help="one weight per update (default 1 each)")
    p.add_argument("--out", required=True, help="directory for the composed model")


def cmd_influence(args: argparse.Namespace) -> int:
    from lit_align.influence.recall import load_influence_config, run_influence

    if len(args.config) != 1:
        raise UserError("lit-align influence: give one --config file")
    cfg, _ = load_influence_config(args.config[0], args.overrides)
    summary = run_influence(cfg)
    top = ", ".join(f"row {t['row']} ({t['influence']:.3g})" for t in summary["top"][:5])
    print(f"ranked {summary['train_rows']} training rows by influence on {summary['queries']} undesirable "
          f"output(s) in {summary['seconds']} s -> {summary['output']}\ntop: {top}")
    return 0


def _common_options() -> argparse.ArgumentParser:
    """Options every command takes, declared once."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show full tracebacks for user errors")
    common.add_argument("--verbose", action="store_true",
                        help="keep the output of dependencies (dataset builders, Lightning's device lines, warnings)")
    return common


COMMON = _common_options()


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", "-c", action="append", required=True, metavar="YAML",
        help="config file; repeat to merge several in order",
    )
    p.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE",
        help="dotlist overrides, e.g. sequence.0.method.init_args.beta=0.2",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lit-align", description="Continual alignment of language models on PyTorch Lightning."
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_config_commands, _add_study_parser, _add_compare_parser, _add_compat_parser,
                _add_feedback_parser, _add_compose_parser, _add_export_parser):
        add(sub)
    return parser


def _command(sub: Any, name: str, text: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """The one way a command is declared: its help, the common options, its function."""
    p: argparse.ArgumentParser = sub.add_parser(name, parents=[COMMON], help=text, description=text)
    p.set_defaults(func=func)
    return p


def _add_config_commands(sub: Any) -> None:
    """The commands that read a run config (--config and KEY=VALUE overrides)."""
    fit = _command(sub, "fit", "train the configured sequence of tasks", cmd_fit)
    validate = _command(sub, "validate", "check a config against every constructor signature; builds nothing",
                        cmd_validate)
    validate.add_argument("--skip-data", action="store_true",
                          help="check the config only, not that data sources open (e.g. hub data not here)")
    validate.add_argument("--skip-machine", action="store_true",
                          help="do not check Trainer arguments against this machine (a config for a GPU cluster)")
    show = _command(sub, "print-config", "print the merged, resolved config", cmd_print_config)
    evaluate = _command(sub, "evaluate", "score a model or exported checkpoint on the configured eval data",
                        cmd_evaluate)
    evaluate.add_argument("--checkpoint", metavar="DIR",
                          help="an exported model directory (default: the configured model)")
    influence = _command(sub, "influence",
                         "rank training rows by their influence on undesirable outputs (LANCET recall)", cmd_influence)
    for p in (fit, validate, show, evaluate, influence):
        _add_config_args(p)


def _add_compare_parser(sub: Any) -> None:
    p = _command(sub, "compare", "compare sequence metrics of several runs", cmd_compare)
    p.add_argument("--experiment", help="MLflow experiment holding the runs")
    p.add_argument("--tracking-uri", help="MLflow tracking URI of the runs (a run's own store is "
                                          "sqlite:///<output_dir>/mlflow.db)")
    p.add_argument("--runs", nargs="+", metavar="DIR", help="output directories of runs")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also write the table, CSV and plot here (default: print only)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # what worker ranks re-run
    if args.version:
        from lit_align import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    if not args.verbose:
        from lit_align.quiet import quiet_output

        quiet_output()
    previous = _terminate_like_interrupt()
    try:
        return args.func(args)
    except (KeyboardInterrupt, Interrupted) as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        named = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
        print(f"lit-align {args.command}: interrupted{named}; completed tasks stay committed: run the same "
              f"command to resume", file=sys.stderr, flush=True)
        return exit_code(signum)
    except UserError as exc:
        if args.debug:
            raise
        from lit_align.secrets import redact_text

        print(f"lit-align {args.command}: error: {redact_text(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


def _terminate_like_interrupt() -> object | None:
    """Outside a run's own handler (which lets the training step finish), SIGTERM stops a command
    as Ctrl-C does: one line and exit 143, never a silent death. Returns the handler it replaced."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupted)


def run() -> None:
    """The console script. After an interrupt everything is committed (atomically) and the
    lock released, so the process leaves at once: interpreter shutdown after a large model
    (native frees, gc of millions of tensors) took over a minute and delays a scheduler."""
    code = main()
    if code in (exit_code(signal.SIGINT), exit_code(signal.SIGTERM)):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
