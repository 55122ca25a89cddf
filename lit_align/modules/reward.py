"""Bradley-Terry reward model: a scalar head on a causal LM.

The reward model starts as a copy of the current policy (usually the SFT model)
and trains separately: the policy passed on to the next task is unchanged.
r(x, y) is the head applied to the final hidden state of the last response token.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import ClassVar

import torch
from safetensors.torch import load_file, save_file

from lit_align.data.collate import pad_sequences
from lit_align.data.records import RecordKind
from lit_align.errors import ConfigError
from lit_align.losses.reward import bradley_terry_loss
from lit_align.models import Policy
from lit_align.modules.base import AlignmentModule, LossOutput
from lit_align.modules.optim import OptimizerConfig
from lit_align.scorers import ResponseScorer

HEAD_FILE = "reward_head.safetensors"


def last_token_states(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """`(B, T, H)` hidden states -> `(B, H)` at each row's last non-padding position (right padding)."""
    last = attention_mask.sum(-1).clamp(min=1) - 1
    return hidden[torch.arange(hidden.size(0), device=hidden.device), last]


class RewardModule(AlignmentModule):
    """Train r(x, y) so that r(chosen) > r(rejected) (Bradley-Terry)."""

    data_kind: ClassVar[RecordKind] = "preference"
    updates_policy: ClassVar[bool] = False

    def __init__(self, *, policy: Policy, optimizer: OptimizerConfig | None = None) -> None:
        backbone = Policy(model=copy.deepcopy(policy.model), tokenizer=policy.tokenizer)
        backbone.model.train()
        super().__init__(policy=backbone, optimizer=optimizer)
        hidden = backbone.model.config.get_text_config().hidden_size
        self.head = torch.nn.Linear(hidden, 1)
        torch.nn.init.normal_(self.head.weight, std=1 / (hidden + 1) ** 0.5)
        torch.nn.init.zeros_(self.head.bias)

    def rewards(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Scalar reward per sequence, `(N,)`."""
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                         use_cache=False)
        states = last_token_states(out.hidden_states[-1], attention_mask)
        return self.head(states.to(self.head.weight.dtype)).squeeze(-1)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> LossOutput:
        chosen, rejected = self.rewards(batch["input_ids"], batch["attention_mask"]).chunk(2)
        out = bradley_terry_loss(chosen, rejected, batch.get("margin"))
        metrics = {
            "accuracy": out.accuracy,
            "reward_margin": out.margin.detach().mean(),
            "chosen_reward": chosen.detach().mean(),
            "rejected_reward": rejected.detach().mean(),
        }
        return LossOutput(out.loss, {"bradley_terry": out.loss}, metrics)

    def export(self, directory: Path) -> Path:
        """`reward_model/`: the backbone (Hugging Face format) plus the head in safetensors."""
        from lit_align.hf_export import export_policy

        out = export_policy(self.policy, directory / "reward_model")
        save_file({k: v.detach().contiguous() for k, v in self.head.state_dict().items()}, out / HEAD_FILE)
        (out / "reward_head.json").write_text(json.dumps({"hidden_size": self.head.in_features}))
        return out

    @classmethod
    def load(cls, directory: str | Path) -> RewardModule:
        """Rebuild an exported reward model (safe formats only: no pickle)."""
        from lit_align.models import HFModelSpec

        module = cls(policy=HFModelSpec(name_or_path=str(directory)).build())
        module.head.load_state_dict(load_file(Path(directory) / HEAD_FILE))
        module.eval()
        return module


class RewardModelScorer(ResponseScorer):
    """A trained reward model (a `RewardModule` export) as a `ResponseScorer`: COPF's scoring
    module, or a judge of generated answers in evaluation. Prompt and response are joined as
    in training (response + EOS), right-padded, and scored in batches without gradients."""

    def __init__(self, *, path: str, batch_size: int = 16) -> None:
        if not (Path(path) / HEAD_FILE).is_file():
            raise ConfigError(f"RewardModelScorer.path: no {HEAD_FILE} in {path!r}; point it at the "
                              "`reward_model/` directory a reward task exported")
        self.module = RewardModule.load(path)
        self.batch_size = batch_size

    @torch.no_grad()
    def score(self, split: str, prompts: list[str], responses: list[str]) -> list[float]:
        tokenizer = self.module.policy.tokenizer
        eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
        scores: list[float] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = slice(start, start + self.batch_size)
            p_ids = tokenizer(prompts[chunk], add_special_tokens=False)["input_ids"]
            r_ids = tokenizer(responses[chunk], add_special_tokens=False)["input_ids"]
            batch = pad_sequences(p_ids, [r + eos for r in r_ids], tokenizer.pad_token_id)
            scores += self.module.rewards(batch["input_ids"], batch["attention_mask"]).float().tolist()
        return scores
