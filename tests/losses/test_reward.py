import math

import pytest
import torch

from lit_align.losses.reward import bradley_terry_loss


def test_bradley_terry_hand_computed():
    # diffs: 0 -> -log(1/2) = ln 2;  ln 3 -> -log(3/4)
    chosen = torch.tensor([1.0, math.log(3.0)])
    rejected = torch.tensor([1.0, 0.0])
    out = bradley_terry_loss(chosen, rejected)
    expected = (math.log(2) - math.log(0.75)) / 2
    assert math.isclose(out.loss.item(), expected, rel_tol=1e-6)
    assert out.accuracy.item() == 0.5  # a tie is not a correct ranking
    assert out.margin.tolist() == pytest.approx([0.0, math.log(3.0)])


def test_bradley_terry_margin_shifts_the_logit():
    # margin m: -log sigma(d - m); d = 2, m = 2 -> ln 2
    out = bradley_terry_loss(torch.tensor([2.0]), torch.tensor([0.0]), margin=torch.tensor([2.0]))
    assert math.isclose(out.loss.item(), math.log(2), rel_tol=1e-6)
