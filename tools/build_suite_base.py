"""Pretrain (SFT) the synthetic suite's base model and cache it.

    python tools/build_suite_base.py [--out benchmarks/.cache/suite/base] [--epochs 3]

The suite builds it on first use; run this to rebuild it or to place it elsewhere.
About a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.suites.synthetic import build_base_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / ".cache" / "suite" / "base")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--force", action="store_true", help="rebuild even if a cached model exists")
    args = parser.parse_args()
    if args.force:
        shutil.rmtree(args.out, ignore_errors=True)
    print(f"base model: {build_base_model(args.out, epochs=args.epochs)}")


if __name__ == "__main__":
    main()
