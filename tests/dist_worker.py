"""One process's part of the distributed-equivalence tests (``test_distributed.py``).

Run plainly it is the single-process reference; under ``accelerate launch --num_processes
N`` every rank runs it and rank 0 writes the result. It samples candidates, judges them,
then takes an SFT step, a GRPO step and a critic-training step on the embedded model, and
saves the candidates, verdicts, losses, all adapter weights and what the trained adapters
compute (verdicts, greedy answers and their log-probabilities) to ``OUT`` (torch.save).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from accelerate import PartialState  # noqa: E402

from seal import distributed  # noqa: E402
from seal.adapters import with_adapters  # noqa: E402
from seal.config import CriticConfig, ModelConfig  # noqa: E402
from seal.critic.data import JudgeExample  # noqa: E402
from seal.critic.model import Critic  # noqa: E402
from seal.critic.train import train_critic  # noqa: E402
from seal.generation.base import SamplingParams  # noqa: E402
from seal.generation.hf import HFSampler  # noqa: E402
from seal.improve.finetune import sft  # noqa: E402
from seal.improve.grpo import GRPOSettings, grpo_update  # noqa: E402
from seal.models import load_model  # noqa: E402
from seal.tasks import get_task  # noqa: E402


def main(out: str) -> None:
    torch.set_num_threads(1)
    # SEAL_WORKER_DEVICE=cuda (benchmarks/gpu.sh): each rank on its own GPU
    loaded = load_model(
        ModelConfig(name="tiny", device=os.environ.get("SEAL_WORKER_DEVICE", "cpu"))
    )
    torch.manual_seed(0)
    model = with_adapters(loaded.model, r=4, alpha=8, dropout=0.0)
    tok = loaded.tokenizer
    task = get_task("wordmath", levels=[1, 2])
    problems = task.problems("train", limit=3)  # per level: 6 prompts
    prompts = [task.prompt(p) for p in problems]

    # sharded sampling and judging
    sampler = HFSampler(model, tok, batch_size=4)
    params = SamplingParams(n=3, temperature=1.5, max_new_tokens=64, stop=tuple(task.stop), seed=11)
    cands = [[c.text for c in row] for row in sampler.sample(prompts, params, quiet=True)]
    critic = Critic(model, tok, batch_size=4, bf16="off")  # fp32 throughout
    flat = [(p, c) for p, row in zip(problems, cands, strict=True) for c in row]
    verdicts = critic.score([p.question for p, _ in flat], [c for _, c in flat])
    rewards = [[v.p_good for v in verdicts[i * 3 : i * 3 + 3]] for i in range(len(prompts))]

    # the three training steps (several batches each, batches larger than one rank's share)
    pairs = [(task.prompt(p), " " + c.lstrip()) for p, c in flat[:10]]
    sft_losses = sft(model, tok, pairs, epochs=2, batch_size=4, seed=5, quiet=True, bf16="off")
    stats = grpo_update(
        model,
        tok,
        prompts,
        cands,
        rewards,
        GRPOSettings(epochs=2, batch_size=4, seed=6, bf16="off"),
        quiet=True,
    )
    examples = [
        JudgeExample(p.question, c, int(task.verify(p, c)) if i % 3 else 1 - int(task.verify(p, c)))
        for i, (p, c) in enumerate(flat[:11])
    ]
    settings = CriticConfig(batch_size=4, micro_batch_size=1, epochs=1, seed=7, lora_dropout=0.0)
    critic_losses = train_critic(critic, examples, settings, quiet=True)

    # what the trained adapters compute: the critic's verdicts and the policy's greedy
    # answers with their log-probabilities (the property that matters, beside the weights)
    after = critic.score([p.question for p, _ in flat], [c for _, c in flat])
    greedy = SamplingParams(n=1, temperature=0.0, max_new_tokens=48, stop=tuple(task.stop))
    answers = sampler.sample(prompts, greedy, quiet=True)

    weights = {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}
    result = {
        "world_size": distributed.world_size(),
        "backend": PartialState().backend if distributed.world_size() > 1 else None,
        "candidates": cands,
        "p_good": [v.p_good for v in verdicts],
        "sft_losses": sft_losses,
        "grpo": stats,
        "critic_losses": critic_losses,
        "weights": weights,
        "p_good_after": [v.p_good for v in after],
        "greedy_after": [row[0].text for row in answers],
        "logprob_after": [row[0].logprob for row in answers],
    }
    distributed.on_main(lambda: torch.save(result, out))


if __name__ == "__main__":
    main(sys.argv[1])
