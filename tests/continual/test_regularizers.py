import math

import torch

from lit_align.losses.regularizers import ewc_penalty, token_kl


def test_ewc_penalty_hand_computed():
    # 0.5 * [2 * (3 - 1)^2 + 0.5 * (0 - 2)^2] = 0.5 * (8 + 2) = 5
    params = {"w": torch.tensor([3.0, 0.0])}
    anchors = {"w": torch.tensor([1.0, 2.0])}
    fisher = {"w": torch.tensor([2.0, 0.5])}
    assert ewc_penalty(params, anchors, fisher).item() == 5.0


def test_token_kl_hand_computed():
    # one response position (t=0 predicts label at t=1). teacher p = [0.5, 0.5]; student q = [0.25, 0.75]
    # KL = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.5 ln 2 + 0.5 ln(2/3)
    teacher = torch.log(torch.tensor([[[0.5, 0.5], [0.5, 0.5]]]))
    student = torch.log(torch.tensor([[[0.25, 0.75], [0.9, 0.1]]]))
    labels = torch.tensor([[-100, 1]])
    expected = 0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    assert math.isclose(token_kl(teacher, student, labels).item(), expected, rel_tol=1e-5)
    assert token_kl(teacher, teacher, labels).item() == 0.0
