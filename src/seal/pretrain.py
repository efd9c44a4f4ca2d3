"""Train the embedded tiny model from scratch: a BPE tokenizer and a small Llama on wordmath.

Only the easy levels go into the corpus, so the model is good there and weak (but not
hopeless) on the harder levels: the room self-improvement has to use. The loss covers the
solution tokens only; the question is context. Fixed seed, fixed number of steps:
``seal pretrain-tiny --out DIR`` reproduces the shipped weights on the same software. A
checkpoint every ``checkpoint_every`` steps (weights, optimizer, step, losses) lets a killed
pre-training continue where it was (``seal pretrain-tiny --resume``) to the same weights,
bit for bit: the batches are a seeded stream, replayed up to the checkpoint's step.
"""

from __future__ import annotations

import json
import os
import platform
import random
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from seal.batching import completion_batch
from seal.config import PretrainConfig
from seal.errors import SealError
from seal.models import resolve_device
from seal.progress import progress_bar
from seal.store import atomic_write_json, atomic_write_text, usual_modes
from seal.tasks.wordmath import format_prompt, iter_problems

EOS = "<|endoftext|>"


def corpus(
    levels: list[int], seed: int, stretch: list[int] | None = None, stretch_share: float = 0.0
) -> Iterator[tuple[str, str]]:
    """Endless (prompt, completion) pairs from the train split, levels interleaved at random;
    a ``stretch_share`` of them from the deeper ``stretch`` levels."""
    rng = random.Random(f"corpus/{seed}")
    stretch = [lv for lv in stretch or [] if lv not in levels]
    streams = {lv: iter_problems("train", lv, seed) for lv in [*levels, *stretch]}
    while True:
        deep = stretch and rng.random() < stretch_share
        p = next(streams[rng.choice(stretch if deep else levels)])
        yield format_prompt(p.question), " " + (p.solution or "")


def train_tokenizer(cfg: PretrainConfig) -> PreTrainedTokenizerFast:
    """Byte-level BPE with one token per digit, so numbers stay learnable and sequences short."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    # The easy levels hold every word the hard ones use (digits are single tokens), so the
    # vocabulary does not depend on how the hard levels are defined.
    texts = corpus(cfg.levels, seed=cfg.seed + 1)
    sample = [p + c for _, (p, c) in zip(range(cfg.tokenizer_corpus), texts, strict=False)]
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(sample, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=EOS,
        eos_token=EOS,
        pad_token=EOS,
        unk_token=None,
        model_max_length=512,
    )


def build_model(cfg: PretrainConfig, vocab_size: int, eos_id: int) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.heads,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        rope_theta=10000.0,
    )
    return LlamaForCausalLM(config)


def batches(
    tokenizer: PreTrainedTokenizerFast, cfg: PretrainConfig
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Length-bucketed batches (little padding) with loss only on completion tokens."""
    stream = corpus(cfg.levels, cfg.seed, cfg.stretch_levels, cfg.stretch_share)
    rng = random.Random(f"batches/{cfg.seed}")
    eos = tokenizer.eos_token_id
    while True:
        pool = []
        for _ in range(cfg.batch_size * 32):
            prompt, completion = next(stream)
            p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
            c_ids = tokenizer(completion, add_special_tokens=False)["input_ids"] + [eos]
            pool.append((p_ids, c_ids))
        pool.sort(key=lambda pc: len(pc[0]) + len(pc[1]))
        groups = [pool[i : i + cfg.batch_size] for i in range(0, len(pool), cfg.batch_size)]
        rng.shuffle(groups)
        for group in groups:
            yield completion_batch(group, eos, multiple=cfg.pad_multiple)


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{platform.machine()}, {torch.cuda.get_device_name(device)}"
    return f"{platform.machine()}, {torch.get_num_threads()} threads"


def optimizer(model: torch.nn.Module, cfg: PretrainConfig) -> torch.optim.AdamW:
    """The recipe's AdamW: weight decay on matrices only, betas (0.9, 0.95), lr ``cfg.lr``."""
    decay = [p for _, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for _, p in model.named_parameters() if p.ndim < 2]
    return torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )


def train_step(
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    device: torch.device,
    bf16: bool,
) -> tuple[float, int]:
    """One pre-training step on ``batch`` (ids, mask, labels): forward (under bf16 autocast
    if ``bf16``; weights and optimizer stay float32), backward, gradient norm clipped to 1,
    update. Returns the loss and the batch's unpadded tokens."""
    ids, mask, labels = (t.to(device) for t in batch)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item(), int(mask.sum())


CHECKPOINT = "checkpoint.pt"
CHECKPOINT_INFO = "checkpoint.json"
"""Beside the weights while a pre-training runs: its states, and (JSON) its step and config."""


def save_checkpoint(
    out: Path,
    model: torch.nn.Module,
    opt: torch.optim.Optimizer,
    cfg: PretrainConfig,
    step: int,
    losses: list[float],
    tokens: int,
    seconds: float,
) -> None:
    """The model's and optimizer's states after ``step`` steps, with the losses, tokens and
    seconds so far, in ``out``; each file replaced atomically (a kill while saving keeps the
    last checkpoint)."""
    tmp = out / f".{CHECKPOINT}.tmp"
    progress = {"step": step, "losses": losses, "tokens": tokens, "seconds": seconds}
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), **progress}, tmp)
    os.replace(tmp, out / CHECKPOINT)
    info = {"step": step, "steps": cfg.steps, "config": cfg.model_dump()}
    atomic_write_json(out / CHECKPOINT_INFO, info)


def checkpoint_info(out: Path) -> dict | None:
    """An unfinished pre-training's step, steps and config in ``out``; None when it has no
    checkpoint. A checkpoint that cannot be read is one line naming it."""
    path = Path(out) / CHECKPOINT_INFO
    if not path.exists() or not (Path(out) / CHECKPOINT).exists():
        return None
    try:
        info = json.loads(path.read_text())
        PretrainConfig(**info["config"])
        if not isinstance(info["step"], int) or not isinstance(info["steps"], int):
            raise ValueError("step")
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise SealError(
            f"{path} cannot be read ({type(err).__name__}): the checkpoint is damaged; "
            "--force starts the pre-training over"
        ) from None
    return info


def _load_checkpoint(out: Path) -> dict:
    keys = {"model", "optimizer", "step", "losses", "tokens", "seconds"}
    try:
        state = torch.load(out / CHECKPOINT, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or not keys <= state.keys():
            raise ValueError("not a seal pre-training checkpoint")
        return state
    except Exception as err:  # a truncated or foreign file: torch raises several kinds
        raise SealError(
            f"{out / CHECKPOINT} cannot be read ({type(err).__name__}): the checkpoint is "
            "damaged; --force starts the pre-training over"
        ) from None


def pretrain(
    cfg: PretrainConfig,
    out: Path,
    quiet: bool = False,
    log_every: int = 0,
    snapshot_every: int = 0,
    snapshot_dir: Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
) -> dict:
    """Train tokenizer and model, write a Hugging Face model directory to ``out``.

    ``snapshot_every`` > 0 also saves the model so far to ``snapshot_dir`` every that many
    steps (to profile a long pre-training while it runs). ``checkpoint_every`` > 0 saves a
    checkpoint in ``out`` every that many steps (removed at the end); ``resume`` continues
    from the one there, which must be of this ``cfg``."""
    torch.manual_seed(cfg.seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return _pretrain(
            cfg, out, quiet, log_every, snapshot_every, snapshot_dir, checkpoint_every, resume
        )
    finally:
        torch.set_num_threads(threads)


def _pretrain(
    cfg: PretrainConfig,
    out: Path,
    quiet: bool,
    log_every: int,
    snapshot_every: int,
    snapshot_dir: Path | None,
    checkpoint_every: int,
    resume: bool,
) -> dict:
    start = time.time()
    tokenizer = train_tokenizer(cfg)
    device = resolve_device(cfg.device)
    model = build_model(cfg, len(tokenizer), tokenizer.eos_token_id).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = optimizer(model, cfg)

    def lr_at(step: int) -> float:
        if step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
        return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + torch.cos(torch.tensor(frac * torch.pi)).item()))

    model.train()
    losses: list[float] = []
    tokens, first, before = 0, 0, 0.0
    if resume:
        info = checkpoint_info(out)
        mine = cfg.model_dump(exclude={"device"})  # the same run may go on elsewhere
        if info is None or {k: v for k, v in info["config"].items() if k != "device"} != mine:
            raise SealError(f"{out} holds no checkpoint of this pre-training to resume")
        state = _load_checkpoint(out)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        first, losses, tokens, before = (
            state["step"],
            list(state["losses"]),
            state["tokens"],
            state["seconds"],
        )
    out.mkdir(parents=True, exist_ok=True)
    data = batches(tokenizer, cfg)
    for _ in range(first):  # the stream is seeded: replayed to where the checkpoint was
        next(data)
    with progress_bar("pretrain", total=cfg.steps - first, unit="steps", quiet=quiet) as bar:
        for step in range(first, cfg.steps):
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            loss, n_tokens = train_step(model, opt, next(data), device, cfg.bf16)
            losses.append(loss)
            tokens += n_tokens
            bar.advance(1, tokens=n_tokens, note=f"loss {loss:.3f}")
            if log_every and (step + 1) % log_every == 0:
                recent = sum(losses[-log_every:]) / log_every
                print(
                    f"step {step + 1}/{cfg.steps} loss {recent:.4f} "
                    f"{before + time.time() - start:.0f}s",
                    flush=True,
                )
            if snapshot_every and snapshot_dir and (step + 1) % snapshot_every == 0:
                model.save_pretrained(snapshot_dir)
                tokenizer.save_pretrained(snapshot_dir)
                usual_modes(snapshot_dir)
            if checkpoint_every and (step + 1) % checkpoint_every == 0 and step + 1 < cfg.steps:
                seconds = before + time.time() - start
                save_checkpoint(out, model, opt, cfg, step + 1, losses, tokens, seconds)

    model = model.to("cpu").eval()
    model.generation_config.pad_token_id = tokenizer.eos_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    usual_modes(out)
    elapsed = before + time.time() - start
    info = {
        "parameters": n_params,
        "steps": cfg.steps,
        "tokens": tokens,
        "seconds": round(elapsed, 1),
        "final_loss": sum(losses[-50:]) / min(50, len(losses)),
        "machine": _machine(device),
        "torch": torch.__version__,
        "config": cfg.model_dump(),
        "loss_curve": [
            round(sum(losses[i : i + 50]) / len(losses[i : i + 50]), 4)
            for i in range(0, len(losses), 50)
        ],
    }
    atomic_write_text(out / "pretrain.json", json.dumps(info, indent=2))
    for name in (CHECKPOINT, CHECKPOINT_INFO):
        (out / name).unlink(missing_ok=True)
    return info
