"""Generation-based evaluation settings: sample answers to eval prompts and score them
(the sampling itself is `lit_align.generation`, the scorer interface `lit_align.scorers`).

Scores come from a `ResponseScorer` (a gold reward for the synthetic suite, or
your own judge or reward model), so the result matrix can be built from what the
policy actually says, next to the pairwise preference accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from lit_align.config.binding import ComponentOf, ComponentSpec, Range


@dataclass
class GenerationConfig:
    """Generate for the first `num_prompts` prompts of every eval split after every task."""

    scorer: Annotated[ComponentSpec, ComponentOf("lit_align.scorers.ResponseScorer")]
    num_prompts: Annotated[int, Range(gt=0)] = 32
    max_new_tokens: Annotated[int, Range(gt=0)] = 24
    temperature: Annotated[float, Range(ge=0)] = 0.0  # 0: greedy
    batch_size: Annotated[int, Range(gt=0)] = 16


