"""Candidate rows of the real-model suite's general-ability probe (the alignment tax, T1).

Short factual questions with exact answers, and open general prompts (no `answer`: they
serve the likelihood half of the probe). `keep_answered` keeps the factual rows the untuned
model answers right, so a later miss is ability lost, not ability never had.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

PROBE_FILE = Path(__file__).resolve().parents[1] / "data" / "smollm2_style" / "probe.jsonl"  # committed

FACTS: tuple[tuple[str, list[str]], ...] = (
    ("What is the capital of France?", ["Paris"]),
    ("What is the capital of Japan?", ["Tokyo"]),
    ("What is the capital of Italy?", ["Rome"]),
    ("What is the capital of Germany?", ["Berlin"]),
    ("What is the capital of Spain?", ["Madrid"]),
    ("What is the capital of England?", ["London"]),
    ("What is the capital of Egypt?", ["Cairo"]),
    ("What is the capital of Russia?", ["Moscow"]),
    ("What is the capital of China?", ["Beijing"]),
    ("What is the capital of Canada?", ["Ottawa"]),
    ("What planet do we live on?", ["Earth"]),
    ("What is the largest planet in our solar system?", ["Jupiter"]),
    ("Which planet is known as the Red Planet?", ["Mars"]),
    ("What star is at the centre of our solar system?", ["Sun"]),
    ("What is the chemical symbol for water?", ["H2O"]),
    ("What gas do plants absorb from the air?", ["carbon dioxide", "CO2"]),
    ("What gas do humans need to breathe?", ["oxygen"]),
    ("How many days are in a week?", ["seven", "7"]),
    ("How many legs does a spider have?", ["eight", "8"]),
    ("How many continents are there?", ["seven", "7"]),
    ("How many hours are in a day?", ["24", "twenty-four"]),
    ("How many months are in a year?", ["twelve", "12"]),
    ("What is 2 + 2?", ["4", "four"]),
    ("What is 10 times 10?", ["100", "one hundred"]),
    ("What color is the sky on a clear day?", ["blue"]),
    ("What color is grass?", ["green"]),
    ("What is frozen water called?", ["ice"]),
    ("Who wrote Romeo and Juliet?", ["Shakespeare"]),
    ("Who painted the Mona Lisa?", ["Leonardo", "da Vinci"]),
    ("What is the largest ocean on Earth?", ["Pacific"]),
    ("What is the tallest mountain in the world?", ["Everest"]),
    ("What is the longest river in Africa?", ["Nile"]),
    ("What animal is known as the king of the jungle?", ["lion"]),
    ("What is the largest mammal?", ["blue whale", "whale"]),
    ("What do bees make?", ["honey"]),
    ("What is the boiling point of water in Celsius?", ["100"]),
    ("What language is spoken in Brazil?", ["Portuguese"]),
    ("What is the opposite of hot?", ["cold"]),
    ("What is the first letter of the English alphabet?", ["A"]),
    ("In which country are the pyramids of Giza?", ["Egypt"]),
    ("What currency is used in the United States?", ["dollar"]),
    ("Which organ pumps blood through the body?", ["heart"]),
    ("What is the main language spoken in Mexico?", ["Spanish"]),
    ("How many sides does a triangle have?", ["three", "3"]),
    ("What is the freezing point of water in Celsius?", ["0", "zero"]),
    ("Who was the first person to walk on the moon?", ["Armstrong"]),
)

GENERAL: tuple[str, ...] = (
    "How do I boil an egg?", "Write a haiku about autumn.", "What are good habits for sleeping well?",
    "Suggest a name for a pet goldfish.", "How can I save money on groceries?", "Explain what a noun is.",
    "What should I pack for a beach trip?", "Give me an idea for a birthday gift.",
    "How do I make a cup of tea?", "What is a good way to learn a new language?",
    "Write a short thank-you note to a friend.", "How do plants grow?",
)


def keep_answered(answer: Callable[[list[str]], list[str]]) -> tuple[list[dict], dict]:
    """Probe rows: the factual questions the model answers right, then every general prompt;
    with a report of what was dropped."""
    from lit_align.continual.probe import contains_answer

    replies = answer([q for q, _ in FACTS])
    kept = [{"prompt": q, "answer": a} for (q, a), r in zip(FACTS, replies, strict=True) if contains_answer(r, a)]
    missed = [{"prompt": q, "answer": a, "reply": r} for (q, a), r in zip(FACTS, replies, strict=True)
              if not contains_answer(r, a)]
    rows = kept + [{"prompt": p, "answer": None} for p in GENERAL]
    return rows, {"asked": len(FACTS), "kept": len(kept), "missed": missed, "general": len(GENERAL)}


def exact_rate(answer: Callable[[list[str]], list[str]], path: Path = PROBE_FILE) -> float:
    """Share of the probe's factual rows (those with an `answer`) whose reply states an accepted answer."""
    from lit_align.continual.probe import contains_answer

    facts = [r for r in map(json.loads, path.read_text().splitlines()) if r.get("answer")]
    replies = answer([r["prompt"] for r in facts])
    hits = [contains_answer(a, [r["answer"]] if isinstance(r["answer"], str) else r["answer"])
            for a, r in zip(replies, facts, strict=True)]
    return sum(hits) / len(hits)


def model_exact_rate(model_dir: Path | None) -> float:
    """`exact_rate` of an exported model directory (pi_0, the packaged SmolLM2, when None): greedy
    answers of 24 tokens through the chat template."""
    from lit_align.generation import Sampling, policy_answerer
    from lit_align.models import GGUFModelSpec, HFModelSpec

    policy = (GGUFModelSpec(gguf="smollm2-135m-instruct") if model_dir is None
              else HFModelSpec(name_or_path=str(model_dir))).build()
    return exact_rate(policy_answerer(policy, Sampling(max_new_tokens=24, batch_size=16), 0, chat_template=True))
