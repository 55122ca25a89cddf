"""Per-sequence log-probabilities of response tokens.

log pi(y|x) = sum_t log pi(y_t | x, y_<t), over response tokens only (labels of
prompt and padding are -100). We gather the label logit and subtract a
logsumexp instead of materialising a full log-softmax; for 16-bit logits the
logsumexp runs row by row in float32, so no float32 `(B, T, V)` tensor exists.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

IGNORE_INDEX = -100


class SequenceLogProbs(NamedTuple):
    logps: torch.Tensor  # (B,) summed (or averaged) response-token log-probs
    token_logps: torch.Tensor  # (B, T-1) per-token log-probs, 0 where masked
    num_tokens: torch.Tensor  # (B,) response tokens per sequence


def token_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """log-softmax(logits)[labels] for `(B, T, V)` logits and `(B, T)` labels (no shift)."""
    safe = labels.clamp(min=0).unsqueeze(-1)
    if logits.dtype in (torch.float32, torch.float64):
        picked = torch.gather(logits, -1, safe).squeeze(-1)
        return picked - torch.logsumexp(logits, dim=-1)
    rows = []
    for row_logits, row_labels in zip(logits, safe, strict=True):
        row = row_logits.float()
        rows.append(torch.gather(row, -1, row_labels).squeeze(-1) - torch.logsumexp(row, dim=-1))
    return torch.stack(rows)


def sequence_logprobs(
    logits: torch.Tensor, labels: torch.Tensor, *, average: bool = False
) -> SequenceLogProbs:
    """Shifted response log-probs: logits at t predict labels at t+1.

    Args:
        logits: `(B, T, V)` model outputs for the full prompt+response sequence.
        labels: `(B, T)` token ids, -100 on prompt and padding positions.
        average: divide by the number of response tokens (IPO/SimPO length norm).
    """
    shifted_labels = labels[:, 1:]
    mask = shifted_labels != IGNORE_INDEX
    per_token = token_logprobs(logits[:, :-1], shifted_labels) * mask
    counts = mask.sum(-1)
    total = per_token.sum(-1)
    if average:
        total = total / counts.clamp(min=1)
    return SequenceLogProbs(total, per_token, counts)


def _chunk_logprobs(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                    labels: torch.Tensor) -> torch.Tensor:
    logits = torch.nn.functional.linear(hidden, weight, bias).float()
    return logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def chunked_token_logprobs(
    hidden: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor,
    bias: torch.Tensor | None = None,
    *,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """log-softmax(hidden @ weight.T + bias)[labels] for `(N, H)` hidden states of the
    tokens that matter (response tokens only), `(N,)` labels, `(V, H)` weight.

    Logits exist for one chunk of `chunk_size` rows at a time, in float32, and
    under autograd each chunk is recomputed in the backward pass instead of being
    stored: peak memory is O(chunk_size * V), not O(B * T * V).
    """
    from torch.utils.checkpoint import checkpoint

    outputs = []
    for start in range(0, hidden.size(0), chunk_size):
        args = (hidden[start : start + chunk_size], weight, bias, labels[start : start + chunk_size])
        if torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad):
            outputs.append(checkpoint(_chunk_logprobs, *args, use_reentrant=False))
        else:
            outputs.append(_chunk_logprobs(*args))
    if not outputs:
        return hidden.new_zeros(0, dtype=torch.float32)
    return torch.cat(outputs)
