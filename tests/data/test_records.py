import pytest

from lit_align.data.formats import hh_rlhf_to_preference
from lit_align.data.records import BadRow, column_problem, render_preference, render_sft


def test_standard_preference_passes_through(tiny_policy):
    r = render_preference({"prompt": "Q?", "chosen": "A.", "rejected": "B."}, tiny_policy.tokenizer)
    assert (r.prompt, r.responses, r.templated) == ("Q?", ["A.", "B."], False)


def test_conversational_preference_uses_chat_template(tiny_policy):
    row = {
        "prompt": [{"role": "user", "content": "Q?"}],
        "chosen": [{"role": "assistant", "content": "A."}],
        "rejected": [{"role": "assistant", "content": "B."}],
    }
    r = render_preference(row, tiny_policy.tokenizer)
    assert r.prompt == "<|user|>Q?<|end|><|assistant|>"
    assert r.responses == ["A.<|end|>", "B.<|end|>"]
    assert r.templated


def test_implicit_prompt_from_shared_messages(tiny_policy):
    user = {"role": "user", "content": "Q?"}
    row = {"chosen": [user, {"role": "assistant", "content": "A."}],
           "rejected": [user, {"role": "assistant", "content": "B."}]}
    r = render_preference(row, tiny_policy.tokenizer)
    assert r.prompt == "<|user|>Q?<|end|><|assistant|>"


@pytest.mark.parametrize("row,reason", [
    ({"prompt": "Q", "chosen": "", "rejected": "B"}, "empty_response"),
    ({"prompt": "Q", "chosen": "A", "rejected": "A"}, "identical_pair"),
    ({"prompt": "Q", "chosen": None, "rejected": "B"}, "missing_chosen"),
    ({"prompt": None, "chosen": "A", "rejected": "B"}, "missing_prompt"),
    ({"prompt": "Q", "chosen": [{"role": "assistant", "content": "A"}], "rejected": "B"}, "mixed_format"),
])
def test_bad_preference_rows(row, reason, tiny_policy):
    with pytest.raises(BadRow) as info:
        render_preference(row, tiny_policy.tokenizer)
    assert info.value.reason == reason


def test_sft_layouts(tiny_policy):
    tok = tiny_policy.tokenizer
    assert render_sft({"prompt": "Q", "completion": "A"}, tok).responses == ["A"]
    assert render_sft({"text": "plain"}, tok).prompt == ""
    msgs = [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]
    r = render_sft({"messages": msgs}, tok)
    assert (r.prompt, r.responses) == ("<|user|>Q<|end|><|assistant|>", ["A<|end|>"])
    with pytest.raises(BadRow, match="last message"):
        render_sft({"messages": msgs[:1]}, tok)
    with pytest.raises(BadRow):
        render_sft({"prompt": "Q", "completion": " "}, tok)


def test_column_problem_names_missing_columns():
    assert column_problem(["prompt", "chosen", "rejected"], "preference", "d") is None
    assert column_problem(["chosen", "rejected"], "preference", "d") is None  # implicit prompt
    msg = column_problem(["prompt", "chosen"], "preference", "d.train")
    assert msg.startswith("d.train: missing column(s) 'rejected' for preference data")
    assert "columns: prompt, chosen" in msg


def test_hh_rlhf_converter():
    row = {
        "chosen": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Help?\n\nAssistant: Sure.",
        "rejected": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Help?\n\nAssistant: No.",
    }
    out = hh_rlhf_to_preference(row)
    assert out["prompt"].endswith("Help?\n\nAssistant:")
    assert (out["chosen"], out["rejected"]) == (" Sure.", " No.")
    assert out["drop_reason"] == ""


def test_hh_rlhf_rows_that_would_pair_wrongly_are_marked_and_dropped_with_a_count(caplog):
    from lit_align.config.data import SourceConfig
    from lit_align.data.sources import load_source

    good = {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!", "rejected": "\n\nHuman: Hi\n\nAssistant: Go away."}
    diverged = {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: Help?\n\nAssistant: Sure.",
                "rejected": "\n\nHuman: Hi\n\nAssistant: Bye.\n\nHuman: Help?\n\nAssistant: No."}
    extra = {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!",
             "rejected": "\n\nHuman: Hi\n\nAssistant: Hm.\n\nHuman: more\n\nAssistant: more"}
    assert hh_rlhf_to_preference(diverged)["drop_reason"] == "diverged_before_last_turn"
    assert hh_rlhf_to_preference(extra)["drop_reason"] == "extra_turns"
    rows = load_source(SourceConfig(records=[good, diverged, extra, good], format="hh_rlhf"), "t")
    assert len(rows) == 2 and "drop_reason" not in rows.column_names
    assert "t: dropped 2 of 4 rows (1 diverged_before_last_turn, 1 extra_turns)" in caplog.text
