import math

import torch

from lit_align.losses.sft import sft_loss


def test_sft_loss_is_token_mean_nll():
    # uniform logits over 4 tokens: every response token has NLL ln 4; 3 response tokens in batch
    logits = torch.zeros(2, 3, 4)
    labels = torch.tensor([[-100, 1, 2], [-100, -100, 3]])
    out = sft_loss(logits, labels)
    assert out.num_tokens.item() == 3
    assert math.isclose(out.loss.item(), math.log(4), rel_tol=1e-6)


def test_sft_loss_equals_cross_entropy():
    torch.manual_seed(1)
    logits = torch.randn(2, 5, 9)
    labels = torch.randint(0, 9, (2, 5))
    labels[0, :3] = -100
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, 9), labels[:, 1:].reshape(-1), ignore_index=-100
    )
    assert torch.allclose(sft_loss(logits, labels).loss, ce, atol=1e-6)
