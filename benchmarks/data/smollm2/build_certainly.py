"""On-policy preference pairs for the real-model quickstart (SmolLM2-135M-Instruct).

Each prompt is answered greedily by the untuned model; the pair prefers the same answer
opened by "Certainly! " over the answer as the model wrote it. The preference is a
behaviour the model rarely shows on its own, and both responses are the model's own text,
so DPO's signal is the opening alone (the env notes' measured recipe). Committed output:
`certainly_{train,eval}.jsonl`; rerun to regenerate (about a minute on 2 cores):

    python -m benchmarks.data.smollm2.build_certainly
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPENING = "Certainly! "
TOPICS = ["the moon", "volcanoes", "honey bees", "the ocean", "rainbows", "bicycles", "coffee", "libraries",
          "winter", "trains", "chess", "bread", "rivers", "the piano", "deserts", "owls", "gardens",
          "lighthouses", "clouds", "maps", "penguins", "bridges", "tea", "forests", "the violin", "kites",
          "museums", "snow", "candles", "whales", "mountains", "markets"]
TEMPLATES = ["Tell me one fact about {t}.", "Describe {t} in one sentence.", "Why do people like {t}?",
             "Give me a short tip about {t}."]


def prompts(seed: int = 0) -> list[str]:
    rows = [template.format(t=topic) for topic in TOPICS for template in TEMPLATES]
    random.Random(seed).shuffle(rows)
    return rows


def main(n_train: int = 48, n_eval: int = 16, max_new_tokens: int = 40) -> None:
    import torch

    from lit_align.data.records import render_prompt
    from lit_align.generation import Sampling, generate
    from lit_align.models import GGUFModelSpec

    torch.manual_seed(0)
    policy = GGUFModelSpec(gguf="smollm2-135m-instruct").build()
    chosen_prompts = prompts()[: n_train + n_eval]
    rendered = [render_prompt({"prompt": [{"role": "user", "content": p}]}, policy.tokenizer).prompt
                for p in chosen_prompts]
    answers = generate(policy.model, policy.tokenizer, rendered,
                       Sampling(max_new_tokens=max_new_tokens, temperature=0.0, batch_size=16), seed=0)
    rows = [{"prompt": p, "chosen": OPENING + a, "rejected": a}
            for p, a in zip(chosen_prompts, answers, strict=True) if a and not a.startswith("Certainly")]
    for name, part in (("train", rows[:n_train]), ("eval", rows[n_train:])):
        (HERE / f"certainly_{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
        print(f"{name}: {len(part)} pairs")


if __name__ == "__main__":
    main()
