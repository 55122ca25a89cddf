"""Blind hand labels (J1): the blind file hides the judge, draws half credited and half not from
trained models only, never overwrites labels, and the agreement numbers equal a hand count."""

from __future__ import annotations

import json

import pytest

from lit_align.errors import UserError
from lit_align.study.labels import judge_agreement, trained_answers, write_blind


def _run(root, name, rows):
    directory = root / "runs" / name
    directory.mkdir(parents=True)
    (directory / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return directory


def _answer(after, score, sound, text):
    return {"after": after, "split": "certainly", "prompt": "Can you describe owls?", "answer": text, "cut": False,
            "sound": sound, "unsound_because": [] if sound else ["word repeated"], "score": score}


@pytest.fixture
def study_root(tmp_path):
    rows = [_answer("(reference)", 0.0, True, "Owls hunt.")]  # the untuned model: never drawn
    rows += [_answer("certainly", 1.0, True, f"Certainly! Owls hunt {i}.") for i in range(4)]
    rows += [_answer("certainly", 1.0, False, "Certainly! Owls owls owls owls.")]
    rows += [_answer("numbered", 0.0, True, f"Owls fly {i}.") for i in range(5)]
    rows += [{**_answer("numbered", 1.0, True, "x"), "split": "numbered"}]  # another split
    return tmp_path, [_run(tmp_path, "a", rows)]


def test_the_blind_file_hides_the_judge_and_draws_half_credited(study_root):
    root, runs = study_root
    assert len(trained_answers(root, runs, "certainly")) == 10
    blind, labels = write_blind(root, runs, "certainly", 6, seed=0)
    drawn = [json.loads(line) for line in blind.read_text().splitlines()]
    assert all(set(d) == {"id", "prompt", "answer"} for d in drawn)
    assert sum(d["answer"].startswith("Certainly") for d in drawn) == 3
    assert [json.loads(line)["follows"] for line in labels.read_text().splitlines()] == [None] * 6
    labels.write_text(labels.read_text().replace('"follows": null', '"follows": true'))
    write_blind(root, runs, "certainly", 6, seed=1)
    assert '"follows": null' not in labels.read_text()  # a person's labels are never overwritten
    with pytest.raises(UserError, match="hold 10 trained-model answers on 'certainly'"):
        write_blind(root, runs, "certainly", 11)


def test_agreement_equals_a_hand_count(study_root):
    root, runs = study_root
    _, labels = write_blind(root, runs, "certainly", 10, seed=0)
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    assert judge_agreement(root, "certainly") == {"labelled": 0, "of": 10}
    answers = trained_answers(root, runs, "certainly")
    for row in rows:  # a person who reads the broken "Certainly! Owls owls..." as not following, not sound
        answer = answers[row["id"]]["answer"]
        row["sound"] = "owls owls" not in answer
        row["follows"] = answer.startswith("Certainly") and row["sound"]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    found = judge_agreement(root, "certainly")
    # the rule credits 5, the person 4: 9 of 10 agree; yes rates 0.5 and 0.4: p_e 0.5, kappa 0.8
    assert found["rule"] == {"n": 10, "agree": 9, "rate": 0.9, "kappa": pytest.approx(0.8), "judge_yes_human_no": 1,
                             "judge_no_human_yes": 0}
    assert found["rule_and_sound"]["agree"] == 10 and found["rule_and_sound"]["kappa"] == pytest.approx(1.0)
    assert found["soundness"]["agree"] == 10
