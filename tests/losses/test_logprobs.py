import math

import torch

from lit_align.losses.logprobs import sequence_logprobs, token_logprobs


def test_token_logprobs_hand_computed():
    # one position, vocab 2, logits [0, ln 3]: softmax = [1/4, 3/4]
    logits = torch.tensor([[[0.0, math.log(3.0)]]])
    assert torch.allclose(token_logprobs(logits, torch.tensor([[1]])), torch.tensor([[math.log(0.75)]]))
    assert torch.allclose(token_logprobs(logits, torch.tensor([[0]])), torch.tensor([[math.log(0.25)]]))


def test_sequence_logprobs_shifts_and_masks():
    # T=3; logits at t predict label at t+1. Label 0 is prompt (-100), labels 1,2 are response.
    logits = torch.zeros(1, 3, 4)  # uniform: every token has log-prob ln(1/4)
    logits[0, 1, 2] = math.log(3.0)  # position 1 -> label at t=2 is token 2: p = 3/6
    labels = torch.tensor([[-100, 1, 2]])
    out = sequence_logprobs(logits, labels)
    expected = math.log(1 / 4) + math.log(3 / 6)
    assert torch.allclose(out.logps, torch.tensor([expected]))
    assert out.num_tokens.tolist() == [2]
    avg = sequence_logprobs(logits, labels, average=True)
    assert torch.allclose(avg.logps, torch.tensor([expected / 2]))


def test_matches_log_softmax_reference_and_bf16_path():
    torch.manual_seed(0)
    logits = torch.randn(3, 7, 11)
    labels = torch.randint(0, 11, (3, 7))
    labels[:, :2] = -100
    labels[2, 5:] = -100
    ref = torch.log_softmax(logits, -1)[:, :-1].gather(-1, labels[:, 1:].clamp(min=0).unsqueeze(-1)).squeeze(-1)
    ref = (ref * (labels[:, 1:] != -100)).sum(-1)
    assert torch.allclose(sequence_logprobs(logits, labels).logps, ref, atol=1e-5)
    bf16 = sequence_logprobs(logits.bfloat16(), labels).logps
    assert bf16.dtype == torch.float32
    assert torch.allclose(bf16, ref, atol=0.1)
