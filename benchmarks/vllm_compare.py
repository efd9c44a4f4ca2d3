"""vLLM backend against the HF backend on one GPU: same answers, and tokens/s.

Policy and critic adapters with random (seeded) weights on the embedded model, saved with
PEFT, served by both backends. Checks: greedy text identical, critic p(good) within 1e-3,
the same top-1 candidate per prompt when both score the HF candidates. Then tokens/s of
vLLM, seal's HF sampler and ``model.generate`` on the same prompts. Written for
``benchmarks/gpu.sh``; NOT RUN YET (no GPU and no vLLM where it was written).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

if __package__ in (None, ""):  # run as `python benchmarks/vllm_compare.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report
from seal.adapters import with_adapters
from seal.config import SealConfig
from seal.critic.model import Critic
from seal.critic.vllm_judge import attach
from seal.generation.base import SamplingParams
from seal.generation.hf import HFSampler
from seal.models import load_model
from seal.tasks import get_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prompts", type=int, default=8, help="prompts per level")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    cfg = SealConfig.model_validate({"model": {"name": "tiny", "device": "cuda"}})
    loaded = load_model(cfg.model)
    torch.manual_seed(0)
    model = with_adapters(loaded.model, cfg.critic.lora_r, cfg.critic.lora_alpha, 0.0)
    with torch.no_grad():  # adapters that change the model, so the comparison means something
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.02)
    tok = loaded.tokenizer
    task = get_task("wordmath")
    problems = task.problems("validation", limit=args.prompts)
    prompts = [task.prompt(p) for p in problems]
    hf = HFSampler(model, tok, batch_size=64)
    critic = Critic(model, tok, batch_size=64, bf16="off")
    greedy = SamplingParams(n=1, temperature=0.0, max_new_tokens=args.max_new_tokens)
    hf_greedy = [r[0].text for r in hf.sample(prompts, greedy, quiet=True)]
    cands = hf.sample(prompts, SamplingParams(n=4, max_new_tokens=args.max_new_tokens), True)
    qs = [p.question for p, row in zip(problems, cands, strict=True) for _ in row]
    sols = [c.text for row in cands for c in row]
    hf_scores = [v.p_good for v in critic.score(qs, sols)]

    with tempfile.TemporaryDirectory() as work:
        vl = attach(cfg, model, tok, critic, Path(work))
        vl_greedy = [r[0].text for r in vl.sample(prompts, greedy, quiet=True)]
        vl_scores = [v.p_good for v in critic.score(qs, sols)]
        critic.judge = None

        def top(scores: list[float]) -> list[int]:
            return [max(range(4), key=lambda j: scores[4 * i + j]) for i in range(len(prompts))]

        same_text = sum(a == b for a, b in zip(hf_greedy, vl_greedy, strict=True))
        diff = max(abs(a - b) for a, b in zip(hf_scores, vl_scores, strict=True))
        same_top = sum(a == b for a, b in zip(top(hf_scores), top(vl_scores), strict=True))

        params = SamplingParams(n=args.n, temperature=0.8, max_new_tokens=args.max_new_tokens)
        rows = []
        for name, sampler in (("vLLM", vl), ("seal HFSampler", hf)):
            sampler.sample(prompts, params, quiet=True)  # warm-up
            torch.cuda.synchronize()
            t = time.perf_counter()
            out = sampler.sample(prompts, params, quiet=True)
            torch.cuda.synchronize()
            dt = time.perf_counter() - t
            n_tok = sum(c.num_tokens for r in out for c in r)
            rows.append([name, n_tok, f"{dt:.2f}", f"{n_tok / dt:,.0f}"])
        tok.padding_side = "left"
        enc = tok(prompts, return_tensors="pt", padding=True).to(loaded.device)
        t = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(
                **enc,
                do_sample=True,
                temperature=0.8,
                top_k=0,
                max_new_tokens=args.max_new_tokens,
                num_return_sequences=args.n,
                pad_token_id=tok.pad_token_id,
            )
        torch.cuda.synchronize()
        dt = time.perf_counter() - t
        new = out[:, enc.input_ids.shape[1] :].tolist()
        n_tok = sum(
            next((j + 1 for j, x in enumerate(r) if x == tok.eos_token_id), len(r)) for r in new
        )
        rows.append(["model.generate", n_tok, f"{dt:.2f}", f"{n_tok / dt:,.0f}"])

    checks = (
        f"Greedy text identical for {same_text}/{len(prompts)} prompts; critic p(good) max "
        f"|vLLM - HF| = {diff:.2e} (want < 1e-3); same top-1 of 4 for {same_top}/{len(prompts)}."
    )
    report(
        "vLLM vs HF backend (tiny, random adapters, one GPU)",
        markdown_table(["sampler", "tokens", "s", "tokens/s"], rows),
        checks,
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
