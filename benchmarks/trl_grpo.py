"""What users would run instead: TRL's `GRPOTrainer` on the same base model and prompts.

Trains the policy the way `seal run` would for this model (``--finetune auto``: the whole
model for the embedded one, as the loop's default; LoRA with seal's rank and targets above
100M parameters or with ``--finetune lora``) with TRL's GRPO, on wordmath train prompts of
the given levels, for a fixed wall time (the time `seal run` takes), with one of two
rewards: the task's verifier (1 right, 0 wrong), or seal's critic (p(good) of a critic
adapter trained by `seal critic train` or a run's `critic-0/`, 0 where its calculator or
coverage check vetoes the solution, as `seal run` scores; without votes). Then scores greedy
test accuracy by level with seal's evaluator, beside the untouched base. Compare its rows
with `benchmarks/efficacy.py` at equal wall time and equal reward.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/trl_grpo.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import level_list, markdown_table, report
from seal.adapters import load_adapter, lora_config, with_adapters
from seal.config import CriticConfig, ModelConfig, SamplingConfig, SealConfig
from seal.critic.calculator import arithmetic_holds, covers_quantities
from seal.critic.model import Critic
from seal.evaluate import evaluate
from seal.generation.hf import HFSampler
from seal.improve.candidates import coverage_rule
from seal.improve.policy import FULL_LR, FULL_MAX_PARAMS, LORA_LR, finetune_mode
from seal.models import load_model
from seal.tasks.wordmath import WordMath


def verifier_reward(task: WordMath):
    def reward(prompts, completions, answer, **_) -> list[float]:
        return [float(task.verify(_Answer(a), c)) for c, a in zip(completions, answer, strict=True)]

    return reward


class _Answer:  # the verifier only reads .answer
    def __init__(self, answer: str):
        self.answer = answer


def critic_reward(critic: Critic, task: WordMath):
    """seal's judgment without the votes: the critic's p(good), 0 where its calculator or
    coverage check (``critic.coverage`` auto, as ``seal run`` scores) vetoes the solution."""
    rule = coverage_rule(CriticConfig().coverage, task)

    def reward(prompts, completions, question, **_) -> list[float]:
        verdicts = critic.score(list(question), list(completions), quiet=True)
        return [
            v.p_good if arithmetic_holds(c) and covers_quantities(q, c, rule) else 0.0
            for v, q, c in zip(verdicts, question, completions, strict=True)
        ]

    return reward


def grpo_lr(lora_lr: float, mode: str) -> float:
    """GRPO's learning rate for a fine-tuning mode: seal's ``run.ppo_lr`` (a LoRA rate) for
    LoRA, scaled for full fine-tuning as seal scales its SFT rate (1e-4 full vs 5e-4 LoRA)."""
    return lora_lr if mode == "lora" else lora_lr * FULL_LR / LORA_LR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--reward", choices=["verifier", "critic"], default="verifier")
    ap.add_argument("--critic", help="critic adapter directory (for --reward critic)")
    ap.add_argument(
        "--minutes", type=float, default=20.0, help="training wall time (make run's, 2 cores)"
    )
    ap.add_argument(
        "--levels", default="6", help="levels of the training prompts (seal run's frontier)"
    )
    ap.add_argument("--eval-levels", default="1-8", help="the tiny-cpu preset's eval.levels")
    ap.add_argument(
        "--prompts", type=int, default=960, help="train prompts per level (seal run: 192 x 5)"
    )
    ap.add_argument("--generations", type=int, default=8, help="completions per prompt")
    ap.add_argument("--batch-prompts", type=int, default=8, help="prompts per GRPO step")
    ap.add_argument(
        "--finetune",
        choices=["auto", "lora", "full"],
        default="auto",
        help="what GRPO trains (auto: as seal run's run.finetune auto would, by model size)",
    )
    ap.add_argument(
        "--lr",
        type=float,
        help="learning rate (default: seal's run.ppo_lr for LoRA, scaled by seal's "
        "full/LoRA fine-tuning ratio for full)",
    )
    ap.add_argument("--json", type=Path, help="also write the row's numbers to this file")
    ap.add_argument("--test-per-level", type=int, default=200)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    if args.reward == "critic" and not args.critic:
        raise SystemExit("error: --reward critic needs --critic DIR (a critic adapter)")
    if args.critic and not (Path(args.critic) / "adapter_config.json").is_file():
        raise SystemExit(f"error: {args.critic} holds no adapter: give a run's critic-0/")
    if min(args.minutes, args.prompts, args.generations, args.batch_prompts) <= 0:
        raise SystemExit("error: --minutes, --prompts, --generations, --batch-prompts must be > 0")
    if args.lr is not None and args.lr <= 0:
        raise SystemExit("error: --lr must be > 0")
    try:
        from trl import GRPOConfig, GRPOTrainer
    except ImportError:
        raise SystemExit("error: this benchmark needs TRL: pip install -e '.[baselines]'") from None
    from datasets import Dataset
    from transformers import TrainerCallback

    cfg = SealConfig(model=ModelConfig(name=args.model))
    run = cfg.run
    train_task = WordMath(levels=level_list(args.levels))
    problems = train_task.problems("train", args.prompts)
    data = Dataset.from_list(
        [
            {"prompt": train_task.prompt(p), "answer": p.answer, "question": p.question}
            for p in problems
        ]  # fmt: skip
    )
    if args.reward == "verifier":
        reward = verifier_reward(train_task)
    else:
        judge = load_model(ModelConfig(name=args.model))
        shared = with_adapters(judge.model)
        load_adapter(shared, "critic", Path(args.critic))
        reward = critic_reward(Critic(shared, judge.tokenizer), train_task)

    torch.manual_seed(0)
    loaded = load_model(ModelConfig(name=args.model))
    n_params = sum(p.numel() for p in loaded.model.parameters())
    mode = finetune_mode(cfg, n_params) if args.finetune == "auto" else args.finetune
    lr = args.lr or grpo_lr(run.ppo_lr, mode)
    budget = args.minutes * 60

    class WallClock(TrainerCallback):
        def on_train_begin(self, a, state, control, **kw):
            self.start = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            if time.perf_counter() - self.start > budget:
                control.should_training_stop = True

    out = Path(tempfile.mkdtemp(prefix="seal-trl-"))
    config = GRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=args.generations * args.batch_prompts,
        num_generations=args.generations,
        max_completion_length=256,
        # TRL's default trades compute for memory: only a large model needs that
        gradient_checkpointing=n_params > FULL_MAX_PARAMS,
        learning_rate=lr,
        beta=run.ppo_kl,
        temperature=1.0,
        max_steps=10**6,
        logging_steps=5,
        save_strategy="no",
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        bf16=False,
        seed=0,
    )
    c = lora_config(16, 32, 0.05) if mode == "lora" else None
    trainer = GRPOTrainer(
        model=loaded.model,
        reward_funcs=reward,
        args=config,
        train_dataset=data,
        processing_class=loaded.tokenizer,
        peft_config=c,
        callbacks=[WallClock()],
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    steps = trainer.state.global_step

    task = WordMath(levels=level_list(args.eval_levels, "--eval-levels"))
    test = task.problems("test", args.test_per_level)

    def score(model) -> dict[int, float]:
        model.eval()
        sampler = HFSampler(model, loaded.tokenizer, batch_size=64)
        summary, _ = evaluate(task, test, sampler, SamplingConfig(), quiet=True)
        return {int(lv): 100 * m["accuracy"] for lv, m in summary["by_level"].items()}

    after = score(trainer.model)
    base = score(load_model(ModelConfig(name=args.model)).model)
    levels = sorted(after)
    hard = levels[-2:]
    gain = sum(after[lv] for lv in hard) / max(sum(base[lv] for lv in hard), 1e-9) - 1
    row = [f"TRL GRPO, reward {args.reward}", steps, f"{seconds / 60:.1f}"]
    row += [f"{base[lv]:.1f} → {after[lv]:.1f}" for lv in levels]
    row += [f"{100 * gain:+.0f}%", f"{max(base[lv] - after[lv] for lv in levels):.1f}"]
    head = ["trainer", "steps", "train min", *(f"L{lv} test %" for lv in levels)]
    head += [f"rel. gain L{hard[0]}+{hard[1]}", "worst drop (pts)"]
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "reward": args.reward,
                    "steps": steps,
                    "train_s": seconds,
                    "base": base,
                    "after": after,
                    "prompts_per_step": args.batch_prompts,
                    "generations": args.generations,
                    "finetune": mode,
                    "lr": lr,
                }
            )
        )
    trained = "LoRA r=16 (seal's)" if mode == "lora" else "the whole model (seal's default here)"
    report(
        "TRL GRPOTrainer on the same model and prompts (tiny, wordmath)",
        markdown_table(head, [row]),
        f"Prompts: {args.prompts} per level of levels {args.levels}; {args.generations} "
        f"completions per prompt, {args.batch_prompts} prompt(s) per step; "
        f"{trained}; lr {lr:g}, KL beta {run.ppo_kl:g} (seal's `run.ppo_kl`); stopped "
        f"after {args.minutes:g} min of training. Greedy test accuracy, "
        f"{args.test_per_level} problems per level.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
