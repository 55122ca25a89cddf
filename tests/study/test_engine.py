"""A tiny study end to end (issue 29): 2 arms x 2 seeds of a 2-task sequence, killed after its
first run and resumed; the report's means, intervals and verdicts checked against values
computed here from each run's own results.json; one run rerun with plain `lit-align fit`."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from lit_align.cli import main
from tests.study.conftest import make_tiny_base, study_dict, write_study

pytestmark = pytest.mark.integration
T975_DF1 = 12.706204736174707  # two-sided 95% Student t, 1 degree of freedom


def _kill_after_first_run(path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "lit_align.cli", "study", "run", "--config", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    for line in proc.stdout:
        if line.startswith("[study] sequential/o0-0: done"):
            break
    else:
        raise AssertionError(proc.stderr.read())
    time.sleep(1.0)  # into the second run
    os.killpg(proc.pid, signal.SIGKILL)  # the study and its run, as kill -9 of a job would
    proc.wait()


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    study = study_dict(make_tiny_base(root), root / "out")
    path = write_study(root, study)
    _kill_after_first_run(path)
    assert json.loads((root / "out/runs/sequential/o0-0/results.json").read_text())["complete"]
    assert not (root / "out/runs/replay/o0-1/results.json").exists()
    first = (root / "out/runs/sequential/o0-0/results.json").stat().st_mtime_ns
    assert main(["study", "run", "--config", str(path)]) == 0  # resumes
    assert (root / "out/runs/sequential/o0-0/results.json").stat().st_mtime_ns == first  # not run again
    return root, study, path


def _own(root, arm, seed):
    return json.loads((root / "out/runs" / arm / f"o0-{seed}/results.json").read_text())


def test_report_equals_a_recomputation_from_the_runs(finished_study):
    root, study, _ = finished_study
    report = json.loads((root / "out/study.json").read_text())
    assert report["missing"] == [] and {r["status"] for r in report["runs"]} == {"done"}
    for arm in ("sequential", "replay"):
        bwt = [_own(root, arm, s)["metrics"]["bwt"] for s in (0, 1)]
        mean = sum(bwt) / 2
        half = T975_DF1 * abs(bwt[0] - bwt[1]) / math.sqrt(2) / math.sqrt(2)  # sd of two values: |a-b|/sqrt(2)
        got = report["summary"][arm]["bwt"]
        assert got["mean"] == pytest.approx(mean) and got["n"] == 2
        assert (got["low"], got["high"]) == pytest.approx((mean - half, mean + half))
        diagonal = [sum(_own(root, arm, s)["matrix"][i][i] for i in range(2)) / 2 for s in (0, 1)]
        assert report["summary"][arm]["plasticity"]["mean"] == pytest.approx(sum(diagonal) / 2)
    f1 = report["verdicts"][0]
    low, high = report["summary"]["sequential"]["bwt"]["low"], report["summary"]["sequential"]["bwt"]["high"]
    expected = "met" if high < -0.05 else "not met" if low >= -0.05 else "not shown"
    assert f1["name"] == "F1" and f1["outcome"] == expected
    assert "F1: " + expected in (root / "out/study.md").read_text()
    assert (root / "out/plots/bwt.png").is_file()


def test_a_runs_config_reruns_it_with_plain_fit(finished_study, tmp_path):
    root, _, _ = finished_study
    config = root / "out/runs/replay/o0-1/config.yaml"
    assert main(["fit", "--config", str(config), f"output_dir={tmp_path / 'again'}"]) == 0
    again = json.loads((tmp_path / "again/results.json").read_text())
    original = _own(root, "replay", 1)
    assert again["matrix"] == original["matrix"]
    assert again["metrics"]["bwt"] == pytest.approx(original["metrics"]["bwt"])


def test_a_changed_study_is_refused_and_an_added_seed_named(finished_study, capsys):
    root, study, path = finished_study
    changed = dict(study, verdicts=study["verdicts"][:1])
    write_study(root, changed, "changed.yaml")
    assert main(["study", "run", "--config", str(root / "changed.yaml")]) == 2
    err = capsys.readouterr().err
    assert "the study file now differs at verdicts; only adding arms, orders or seeds is allowed" in err
    assert main(["study", "status", "--config", str(path)]) == 0
    assert "tiny: 4 done, 0 failed, 0 pending" in capsys.readouterr().out
    # a verdict appended with the arm it judges is still written before that arm's runs; one about an old arm is not
    late = {"name": "late", "claim": "x", "checks": [{"rule": "threshold", "args": {"arm": "replay", "metric": "bwt",
                                                                                   "below": 0.0}}]}
    write_study(root, dict(study, verdicts=[*study["verdicts"], late]), "late.yaml")
    assert main(["study", "status", "--config", str(root / "late.yaml")]) == 0  # status reads; it checks nothing
    assert main(["study", "run", "--config", str(root / "late.yaml")]) == 2
    assert "differs at verdicts.late (judges replay, whose runs exist)" in capsys.readouterr().err
    from lit_align.study.engine import _added_verdicts

    fresh = {**late, "checks": [{"rule": "threshold", "args": {"arm": "new_arm", "metric": "bwt", "below": 0.0}}]}
    assert _added_verdicts(study["verdicts"], [*study["verdicts"], fresh], {"new_arm"}) == (["verdicts.late"], [])
    assert _added_verdicts(study["verdicts"], study["verdicts"][::-1], {"new_arm"}) == ([], ["verdicts"])
    # where the runs execute is not part of the question: another launcher is accepted (nothing to run)
    write_study(root, dict(study, launcher={"class_path": "local_launcher", "init_args": {"jobs": 1, "threads": 1}}),
                "relaunched.yaml")
    assert main(["study", "run", "--config", str(root / "relaunched.yaml")]) == 0
    assert "4 runs, 4 done, 0 to run" in capsys.readouterr().out
    # an added arm left for later is counted apart from the runs that are done
    grown = dict(study, arms={**study["arms"], "extra": ["memory.per_task=0.25", "memory.replay_ratio=0.5"]})
    write_study(root, grown, "grown.yaml")
    assert main(["study", "run", "--config", str(root / "grown.yaml"), "--arms", "sequential"]) == 0
    assert "6 runs, 4 done, 0 to run now (2 left for later)" in capsys.readouterr().out


def test_a_failing_run_is_recorded_and_the_report_says_it_is_missing(tiny_base, tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_loss.py").write_text(
        "def loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps, *, beta=0.1):\n"
        "    raise RuntimeError('this loss is broken on purpose')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))
    study = study_dict(tiny_base, tmp_path / "out", seeds=[0], verdicts=[],
                       arms={"broken": ["sequence.*.method.init_args.loss=broken_loss.loss"]})
    path = write_study(tmp_path, study)
    assert main(["study", "run", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[study] broken/o0-0: failed: RuntimeError: this loss is broken on purpose" in out
    report = json.loads((tmp_path / "out/study.json").read_text())
    assert report["missing"] == [{"label": "broken/o0-0", "status": "failed",
                                  "error": "RuntimeError: this loss is broken on purpose"}]
    assert report["summary"]["broken"]["bwt"]["n"] == 0
    assert "## Missing runs (1): not in any mean above" in (tmp_path / "out/study.md").read_text()


def test_run_subsets_name_an_unknown_arm_or_order_in_one_line(tiny_base, tmp_path, capsys):
    path = write_study(tmp_path, study_dict(tiny_base, tmp_path / "out", orders={"ab": ["kind", "color"],
                                                                                  "ba": ["color", "kind"]}))
    assert main(["study", "run", "--config", str(path), "--orders", "ab", "zz"]) == 2
    assert "--orders: zz is not an order of tiny (orders: ab, ba)" in capsys.readouterr().err
    assert main(["study", "run", "--config", str(path), "--arms", "replay", "copr"]) == 2
    assert "--arms: copr is not an arm of tiny (arms: sequential, replay)" in capsys.readouterr().err
    assert not list((tmp_path / "out").glob("runs/*/*/results.json"))  # nothing ran
