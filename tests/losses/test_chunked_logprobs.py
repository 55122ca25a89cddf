import torch

from lit_align.losses.logprobs import chunked_token_logprobs, token_logprobs


def test_chunked_equals_full_log_softmax_values_and_gradients():
    torch.manual_seed(0)
    hidden = torch.randn(7, 5, requires_grad=True)
    weight = torch.randn(11, 5, requires_grad=True)
    bias = torch.randn(11, requires_grad=True)
    labels = torch.randint(0, 11, (7,))
    full = token_logprobs((hidden @ weight.T + bias).unsqueeze(0), labels.unsqueeze(0)).squeeze(0)
    grads_full = torch.autograd.grad(full.sum(), (hidden, weight, bias))
    chunked = chunked_token_logprobs(hidden, weight, labels, bias, chunk_size=3)  # 3 + 3 + 1 rows
    grads_chunked = torch.autograd.grad(chunked.sum(), (hidden, weight, bias))
    assert torch.allclose(full, chunked, atol=1e-6)
    for a, b in zip(grads_full, grads_chunked, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_chunked_empty_and_no_grad():
    weight = torch.randn(4, 3)
    assert chunked_token_logprobs(torch.zeros(0, 3), weight, torch.zeros(0, dtype=torch.long)).shape == (0,)
    with torch.no_grad():
        out = chunked_token_logprobs(torch.randn(2, 3), weight, torch.tensor([0, 3]))
    assert out.shape == (2,) and not out.requires_grad
