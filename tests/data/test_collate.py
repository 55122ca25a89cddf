import torch

from lit_align.data.collate import IGNORE_INDEX, Collator, pad_sequences


def test_pad_sequences_masks_prompt_and_padding():
    out = pad_sequences([[1, 2], [3]], [[4], [5, 6, 7]], pad_id=0)
    assert out["input_ids"].tolist() == [[1, 2, 4, 0], [3, 5, 6, 7]]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert out["labels"].tolist() == [[IGNORE_INDEX, IGNORE_INDEX, 4, IGNORE_INDEX], [IGNORE_INDEX, 5, 6, 7]]


def test_preference_collator_stacks_chosen_then_rejected():
    rows = [
        {"row": 0, "prompt_ids": [1], "chosen_ids": [2], "rejected_ids": [3, 3], "ref_chosen_logps": -1.5},
        {"row": 5, "prompt_ids": [4, 4], "chosen_ids": [5], "rejected_ids": [6], "ref_chosen_logps": -2.0},
    ]
    batch = Collator(kind="preference", pad_id=0)(rows)
    assert batch["input_ids"].shape == (4, 3)
    assert batch["input_ids"][:, 0].tolist() == [1, 4, 1, 4]  # [chosen rows | rejected rows]
    assert batch["input_ids"][2].tolist() == [1, 3, 3]
    assert batch["row"].tolist() == [0, 5]
    assert torch.equal(batch["ref_chosen_logps"], torch.tensor([-1.5, -2.0]))
