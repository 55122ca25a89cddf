"""Write the quickstart's small JSONL datasets from the synthetic domains.

    python tools/make_quickstart_data.py [--out benchmarks/data/quickstart]

SFT rows mix good and bad answers (the SFT stage teaches the answer format, not
the preference); preference rows carry the gold preference DPO must learn.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from lit_align.data.synthetic import preference_pairs

QUICKSTART_DOMAINS = ("polite", "colors", "short")


def sft_mixed(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for domain in QUICKSTART_DOMAINS:
        for pair in preference_pairs(domain, n // len(QUICKSTART_DOMAINS), seed):
            completion = pair["chosen"] if rng.random() < 0.5 else pair["rejected"]
            rows.append({"prompt": pair["prompt"], "completion": completion, "domain": domain})
    rng.shuffle(rows)
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/data/quickstart")
    out = Path(parser.parse_args().out)
    write_jsonl(out / "sft_train.jsonl", sft_mixed(600, seed=0))
    write_jsonl(out / "sft_eval.jsonl", sft_mixed(90, seed=1))
    for domain in QUICKSTART_DOMAINS:
        write_jsonl(out / f"{domain}_train.jsonl", preference_pairs(domain, 256, seed=0))
        write_jsonl(out / f"{domain}_eval.jsonl", preference_pairs(domain, 64, seed=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
