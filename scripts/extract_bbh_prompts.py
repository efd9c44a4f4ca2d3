"""Regenerate src/seal/assets/bbh_cot.json: BIG-Bench Hard's 3-shot chain-of-thought
prompts (Suzgun et al., 2022; MIT), read from lm-evaluation-harness's task files so that
seal's prompts are the harness's, character for character.

    pip install lm_eval==0.4.13 && python scripts/extract_bbh_prompts.py
"""

from __future__ import annotations

import json
from pathlib import Path

import lm_eval
import yaml

SRC = Path(lm_eval.__file__).parent / "tasks" / "bbh" / "cot_fewshot"
OUT = Path(__file__).resolve().parents[1] / "src" / "seal" / "assets" / "bbh_cot.json"


def main() -> None:
    prompts = {}
    for path in sorted(SRC.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        cfg = yaml.safe_load(path.read_text())
        prompts[cfg["dataset_name"]] = {
            "description": cfg["description"],
            "doc_to_text": cfg["doc_to_text"],
            "shots": [
                {"input": s["input"], "target": s["target"]}
                for s in cfg["fewshot_config"]["samples"]
            ],
        }
    OUT.write_text(json.dumps(prompts, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(prompts)} subtasks -> {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
