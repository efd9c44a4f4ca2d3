"""Configuration: one pydantic model per stage, YAML in and out, dotted CLI overrides.

The same fields appear in Python (``SealConfig``), YAML (``seal config show``) and the CLI
flags, which override YAML. Unknown keys and wrong types are one-line ``SealError``s that
name the key and what it accepts.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from seal.data import check_file, json_limit
from seal.errors import SealError
from seal.sandbox.programs import MAX_TIMEOUT

MAX_SAMPLES = 1024
"""Most samples per prompt any setting takes (eval, search, critic, run): well past pass@k
practice (HumanEval's pass@100, 200 draws), and a typo such as ``--samples 10000000`` is
refused at once instead of sampling until killed."""

MAX_SEED = 2**32 - 1
"""Largest seed any setting takes (numpy's range): loops derive further seeds from it
(``seed * 1000 + round``), and torch refuses one of 2**64 or more after the model loaded."""


def _admits_bool(annotation: Any) -> bool:
    """Whether a field of this type can hold true / false (bool itself, in any union)."""
    return annotation is bool or any(_admits_bool(a) for a in get_args(annotation))


def _literals(annotation: Any) -> set[Any]:
    """The values a ``Literal[...]`` annotation (in any union) allows."""
    if get_origin(annotation) is Literal:
        return set(get_args(annotation))
    return {v for a in get_args(annotation) for v in _literals(a)}


_WORDS = {True: ("on", "yes", "true"), False: ("off", "no", "false")}
"""Words YAML reads as booleans: a key that allows one of them takes ``true`` / ``false`` back
as that word (``--set model.train_bf16=off`` and ``critic.coverage=off`` mean "off")."""


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, list | tuple) and any(isinstance(v, bool) for v in value)


class _Section(BaseModel):
    # nan and inf are no setting: `sampling.temperature=.inf` would pass ``ge=0``
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_stray_bool(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML reads ``yes`` / ``true`` as a boolean, which pydantic would quietly take as
        1 or 1.0 (``run.iterations=true`` ran one round): refused for non-boolean keys."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and isinstance(value, bool):
            allowed = _literals(field.annotation)
            for word in _WORDS[value]:
                if word in allowed:
                    return word
        if field is not None and _has_bool(value) and not _admits_bool(field.annotation):
            raise ValueError(
                "Input should be a number or text here, not true/false "
                "(YAML reads true, false, yes, no, on and off as booleans; quote them for text)"
            )
        return value


class ModelConfig(_Section):
    name: str = Field("tiny", min_length=1)
    """``tiny`` (embedded), a local directory in Hugging Face format, or a hub id."""
    device: str = "auto"
    """``auto`` picks CUDA when available, else CPU; or any torch device string."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """``auto``: float32 on CPU; bfloat16 on a GPU, except for a checkpoint saved in
    float32 (the embedded model), which trains in float32 with bfloat16 autocast."""
    train_bf16: Literal["auto", "on", "off"] = "auto"
    """bfloat16 autocast in training (critic, SFT, policy gradient); ``auto``: on CUDA with
    bf16, and on CPUs with native bf16 only where a quick timing shows it is faster."""
    backend: Literal["hf", "vllm"] = "hf"
    """Sampling and critic scoring: ``hf`` (seal's own sampler, any device) or ``vllm`` (one
    offline vLLM engine on the base model, adapters loaded from files; needs
    ``pip install 'seal-lm[vllm]'`` and a GPU; not run yet, see docs/scale-out.md)."""
    vllm_memory: float = Field(0.5, gt=0.0, lt=1.0)
    """Share of GPU memory vLLM may take (the training model lives in the same process)."""
    chat_template: bool = False
    """Prompt through the tokenizer's chat template (instruct models; lm-eval's
    ``--apply_chat_template``): the task's prompt, worked examples included, is one user
    turn and the model answers as the assistant, in evaluation, sampling, search and
    fine-tuning alike (the critic's judge prompt stays plain text). A model without a
    template (a base model, the embedded one) is a one-line error."""


class SamplingConfig(_Section):
    temperature: float = Field(1.0, ge=0.0)
    """0 means greedy decoding."""
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(0, ge=0)
    """0 disables top-k filtering."""
    max_new_tokens: int = Field(256, ge=1)
    batch_size: int = Field(64, ge=1)
    """Sequences decoded together (prompts x samples)."""
    seed: int = Field(0, ge=0, le=MAX_SEED)


class EvalConfig(_Section):
    task: str = "wordmath"
    """One task or several, comma-separated; ``bbh/<subtask>``, ``mmlu/<subject>`` too."""
    split: str | None = None
    """The task's evaluation split when unset (test; validation for commonsense_qa)."""
    limit: int | None = Field(100, ge=1, le=1_000_000)
    """Problems per level (wordmath), subtask/subject (bbh, mmlu) or task; null = all of a
    benchmark's rows (wordmath makes its problems on demand: null is 100 a level)."""
    samples: int = Field(1, ge=1, le=MAX_SAMPLES)
    """Sampled completions per problem for maj@k / pass@k (besides one greedy answer)."""
    shots: int | None = Field(None, ge=0, le=256)
    """Worked examples in the prompt; unset = the task's standard (gsm8k 5, gsm8k_cot 8,
    bbh 3, mmlu 5, others 0). At most 256: far past any standard setting, and refused at
    once instead of building (and tokenizing) a prompt no context holds."""
    levels: list[int] | None = Field(None, min_length=1)
    """wordmath levels to evaluate; all when unset."""
    timeout: float = Field(10.0, gt=0, le=MAX_TIMEOUT)
    """Seconds each generated program may run in the sandbox (humaneval)."""
    unsafe_local_execution: bool = False
    """Run generated code even where the OS sandbox (bubblewrap) is unavailable, with only
    the audit hook and rlimits in the way (docs/sandbox.md). Off: refuse instead."""


class SearchConfig(_Section):
    """Answer-time search (``seal solve``, ``seal eval --search``): see ``seal.search``."""

    method: Literal["greedy", "majority", "best-of-n", "tot", "tot-dfs"] = "tot"
    n: int = Field(8, ge=1, le=MAX_SAMPLES)
    """Samples for majority and best-of-n."""
    branch: int = Field(3, ge=1, le=MAX_SAMPLES)
    """Tree of Thoughts: next steps sampled per node."""
    width: int = Field(2, ge=1, le=MAX_SAMPLES)
    """Tree of Thoughts: nodes kept per depth (beam width)."""
    depth: int = Field(12, ge=1, le=1024)
    """Most steps (lines) in a solution."""
    step_tokens: int = Field(48, ge=1)
    threshold: float = Field(0.3, ge=0.0, le=1.0)
    """tot-dfs: children valued below this are pruned."""
    expansions: int = Field(24, ge=1, le=100_000)
    """tot-dfs: most nodes expanded per problem."""
    choose: Literal["value", "vote"] = "value"
    """Final answer: the best finished node, or the value-weighted vote over answers."""


class PretrainConfig(_Section):
    """How the embedded tiny model is trained from scratch (``seal pretrain-tiny``)."""

    seed: int = Field(0, ge=0, le=MAX_SEED)
    levels: list[int] = Field([1, 2, 3, 4, 5], min_length=1)
    """wordmath levels (reasoning depths) in the training corpus, drawn uniformly."""
    stretch_levels: list[int] = [6]
    """Deeper levels shown a little (``stretch_share`` of the examples), so one step past
    the corpus is a slope to climb rather than a cliff; [] = none."""
    stretch_share: float = Field(0.003, ge=0.0, lt=1.0)
    """It sets where the edge lies. The shipped model (levels 1-5, 0.3% level 6): level 6 at
    52.5% greedy, level 7 7.5%, level 8 2.5%. The previous one (levels 1-4, 2% level 5):
    level 5 89.5%, level 6 29.5%; with 1% level 5: 82.0 / 15.5; 0.5%: 54.5 / 6.0 (in the
    30-70% band, but the loop and gold data gained little two levels up); 0: 19.0 / 3.0, a
    cliff (docs/tiny-model.md, "Where the edge lies")."""

    @field_validator("levels", "stretch_levels")
    @classmethod
    def _known_levels(cls, levels: list[int]) -> list[int]:
        from seal.tasks.wordmath import MAX_LEVEL

        unknown = [d for d in levels if not 1 <= d <= MAX_LEVEL]
        if unknown:
            raise ValueError(f"wordmath levels are 1-{MAX_LEVEL}, not {unknown[0]}")
        return levels

    steps: int = Field(5000, ge=1)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(3e-3, gt=0)
    warmup: int = Field(150, ge=0)
    weight_decay: float = Field(0.1, ge=0)
    hidden_size: int = Field(256, ge=8)
    layers: int = Field(6, ge=1)
    heads: int = Field(4, ge=1)
    intermediate_size: int = Field(688, ge=8)

    @field_validator("heads")
    @classmethod
    def _heads_split_hidden(cls, heads: int, info: Any) -> int:
        hidden = info.data.get("hidden_size")
        if hidden is not None and (hidden % heads or (hidden // heads) % 2):
            raise ValueError(
                f"{heads} heads must split hidden_size ({hidden}) into an even size per head"
            )
        return heads

    vocab_size: int = Field(1024, ge=300)
    tokenizer_corpus: int = Field(20000, ge=100)
    """Problems used to train the BPE tokenizer."""
    bf16: bool = False
    """bfloat16 autocast (weights and optimizer stay float32): 2.05x the steps a second on
    the project's 2-core AMD EPYC with AVX-512 BF16; CPUs without native bf16 emulate it,
    slower. ``python benchmarks/pretrain_speed.py`` measures it on yours. Other weights than
    float32's; the shipped model is float32."""
    pad_multiple: int = Field(1, ge=1, le=256)
    """Batches right-padded to a multiple of this many tokens (the padding is masked: the same
    loss up to rounding). Under bf16 autocast on a CPU every new batch width makes oneDNN
    build and keep kernels for it: at 1 (exact widths; the shipped float32 recipe, kept so it
    reproduces the shipped weights) a bf16 pre-training held 5.4 GB after 150 steps (111
    widths) and 8.4 GB after 600, still growing; at 16, 2.5 GB (15 widths) and a 9% faster
    step (``python benchmarks/pretrain_memory.py``, BENCHMARKS.md). Pad with bf16."""
    threads: int = Field(2, ge=1)
    """CPU threads for training. The weights depend on it (summation order), so it is part
    of the recipe (the shipped model: 2, on a 2-core machine)."""
    device: str = "cpu"
    """Where to train: ``cpu``, ``auto``, ``cuda``, ``cuda:1``... The recipe's weights are
    reproduced on the same device type and software only."""


class CriticConfig(_Section):
    """The self-critique reward model: bootstrap labels, training, self-annotation."""

    labels: int = Field(200, ge=2)
    """Verifier-labelled (or user-labelled) trajectories to bootstrap from, balanced good/bad."""
    problems_per_level: int = Field(48, ge=1)
    """Pool problems per level whose samples feed labels, self-labels and held-out metrics
    (``seal run``'s ``tiny-cpu`` preset: 24)."""
    samples_per_problem: int = Field(4, ge=1, le=MAX_SAMPLES)
    temperature: float = Field(1.0, gt=0.0)
    max_new_tokens: int = Field(256, ge=1)
    contrastive: bool = False
    """Bootstrap labels: first a good and a bad solution of each problem that has both."""
    heldout_fraction: float = Field(0.3, ge=0.0, lt=1.0)
    """Share of pool problems kept out of training, for AUROC / accuracy / ECE."""
    entropy_threshold: float = Field(0.5, gt=0.0)
    """Self-labels whose verdict entropy (nats, max ln 2) is below this are kept."""
    vote_weight: float = Field(1.0, ge=0.0)
    """Self-consistency as a confidence signal for self-labels: the verdict's log-odds plus
    this x (2 x share of the prompt's samples with the same answer - 1); 0 = critic only."""
    calculator: bool = True
    """The loop's critic recomputes every ``a op b = c`` a candidate writes: a false equation
    makes the candidate bad whatever the learned verdict, and it does not vote
    (``seal.critic.calculator``); solutions without equations are unaffected."""
    coverage: Literal["auto", "each", "any", "off"] = "auto"
    """With the calculator: a candidate that leaves a quantity of the question unused (a
    skipped step) is bad and does not vote either. ``any``: each number the question states
    appears in the working (level-5 wordmath candidates passing the calculator: 0.66 ->
    0.79 right; it vetoes 1 right one of 340 there, and 9.4% of GSM8K's gold test
    solutions, which leave a given number unused). ``each``: counted, each stated quantity
    a fresh operand of its own (level-6 loop selections: precision 0.66 -> 0.81 at the
    same right ones kept; it vetoes 17.9% of GSM8K's gold test solutions). ``auto``:
    ``each`` where every stated quantity enters one operation (wordmath), else ``any``.
    ``true`` / ``false`` read as ``auto`` / ``off``."""

    @field_validator("coverage", mode="before")
    @classmethod
    def _coverage_flag(cls, v: object) -> object:
        return {True: "auto", False: "off"}.get(v, v) if isinstance(v, bool) else v

    self_consistency: bool = False
    """Also require self-labels to agree with majority vote over the prompt's samples."""
    self_label: bool = True
    steps: bool = True
    """Train step-level critique on step-verifier labels."""
    combine: Literal["outcome", "min", "mean", "product"] = "outcome"
    """How the trajectory reward combines the outcome verdict with the step verdicts."""
    injections: float = Field(0.25, ge=0.0, le=1.0)
    """Share of bad training solutions also shown with text addressed to the judge."""
    perturbations: float = Field(0.0, ge=0.0, le=1.0)
    """Share of good training solutions also shown with one middle line dropped, repeated or
    a number changed, labelled bad: right and wrong solutions of one problem that differ in
    a line, so the critic learns to rank a prompt's own samples."""
    consistency: float = Field(0.5, ge=0.0)
    """Weight of the inconsistency penalty (symmetric KL between two judgings); 0 = off
    (``seal run``'s ``tiny-cpu`` preset: half the training time, AUROC no different)."""
    epochs: int = Field(4, ge=1)
    """Passes over the bootstrap examples (each judged twice, two prompt wordings, when
    the inconsistency penalty is on); ``seal run``'s ``tiny-cpu`` preset: 2."""
    self_label_epochs: int = Field(1, ge=1)
    """Epochs of the retraining on bootstrap + kept self-labels (it starts from the
    bootstrap critic, so it needs fewer)."""
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    batch_size: int = Field(16, ge=1)
    micro_batch_size: int = Field(8, ge=1)
    """Examples per forward/backward pass; larger batches accumulate gradients over
    micro-batches (same update, less memory)."""
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.1, ge=0.0, lt=1.0)
    seed: int = Field(0, ge=0, le=MAX_SEED)


class RunConfig(_Section):
    """The self-improvement loop (``seal run``)."""

    task: str = "wordmath"
    """wordmath (the embedded task, four splits of its own) or a benchmark with a train
    split whose answers are written: gsm8k, gsm8k_cot, commonsense_qa_cot. A benchmark's
    critic pool and validation are 5% each of its train rows (by question hash); its own
    evaluation split is the final test (``seal.tasks.carved``)."""
    data: Path | None = None
    """A benchmark's train rows from this JSONL/Parquet file (the hub's schema) instead
    of the hub (``seal run --data``)."""
    test_data: Path | None = None
    """A benchmark's test rows from this file instead of the hub (``--test-data``)."""
    shots: int | None = Field(None, ge=0, le=256)
    """Worked examples before every prompt of the run (critic pool, candidates, fine-tuning,
    validation, test); null: the task's default, as ``seal eval`` uses (wordmath 0, gsm8k 5,
    gsm8k_cot 8), so the run's base test is ``seal eval``'s number for the model."""
    iterations: int = Field(12, ge=1)
    """At most this many sample-select-train rounds (``patience`` stops earlier). On the
    embedded model (``make run``, seed 0, 44 min) every one of the 12 rounds was accepted:
    rounds 1-5 took level 6 from 54 to 79% on validation, rounds 6-12 moved to level 7
    (16 -> 35%); test levels 7+8 10.0 -> 26.5 (+165%). On the previous embedded model
    (levels 1-4 + 2% level 5) the loop kept climbing long after 5 rounds too: as the policy
    solved more of its frontier, a round kept right solutions of more problems (54 selected
    in round 1, 149-196 in rounds 9-12). Its 3 seeds continued, 2 CPU threads (BENCHMARKS.md,
    2026-11-28), levels 6+7 relative: 5 rounds +28% [+18, +35] (~18 min), 8 rounds +41%
    [+26, +43] (~27 min), **12 (default) +78% [+54, +88]** (overall 74.1 -> 78.9 [77.9,
    79.1], ~39 min); ``--set run.iterations=5`` for the short run."""
    train_levels: list[int] | None = Field(None, min_length=1)
    """wordmath levels whose train prompts the loop samples; null (default): the frontier,
    chosen each iteration from the last validation (``frontier_*``)."""
    frontier_low: float = Field(0.15, ge=0.0, le=1.0)
    frontier_high: float = Field(0.9, ge=0.0, le=1.0)
    """Levels whose validation accuracy lies in [frontier_low, frontier_high] are partly
    solved: where self-training can add ability. Under ~15% a level's samples are almost
    all wrong and the critic cannot pick the few right ones (the previous embedded model's
    level 6 at 4-7%: 1-2 right in 25-27 critic selections), so the loop would train on
    errors. Measured again on the next model (levels 1-4 + 2% level 5; seed 0,
    ``frontier_low`` 0.01 and
    ``frontier_width`` 2, so level 7 at 4-7% was sampled beside level 6): 32 of 94 level-7
    selections right over 5 rounds, level 7 4.5 -> 4.5 and level 6 only 29.5 -> 35.0
    (levels 6+7 +16% against +28 / +38% sampling level 6 alone), 17.6 min after the
    bootstrap (BENCHMARKS.md, 2026-11-28)."""
    frontier_width: int = Field(1, ge=1)
    """Most levels sampled per iteration (the hardest ones in the band, then the ones just
    above it). 1 (one level): on an earlier embedded model (48 prompts) the oracle climbed at every
    seed (75.4 median on an H100), and so did the critic with ``vote_among`` checked
    (77.7-78.3); levels 4-5 at 24 prompts each gave 72.4-72.8 with the critic and 71.9-72.5
    with the oracle (both before ``vote_among``; BENCHMARKS.md)."""
    prompts_per_level: int = Field(192, ge=1)
    """Training prompts per level and iteration (new prompts every iteration). 192 prompts
    x 2 samples (default) against 48 x 8, the same 384 candidates a round: on the previous
    embedded model (levels 1-4 + 2% level 5), CPU, 2 seeds, the critic's run ended levels
    6+7 at 41.0 / 39.0 against 37.0 /
    35.5 (overall 75.6 / 75.4 against 74.9 / 74.6), a round keeping right solutions of more
    distinct problems (63-158 selections of up to 192 against 36-72 of 48), in ~20 min
    against 17 (more data to fine-tune; BENCHMARKS.md, 2026-11-27)."""
    samples: int = Field(2, ge=1, le=MAX_SAMPLES)
    """N: candidates sampled per prompt."""
    top_k: int = Field(2, ge=1)
    """k: most distinct candidates kept per prompt."""
    min_score: float = Field(0.8, ge=0.0, le=1.0)
    """Candidates scoring under this are never kept. High (0.8): a handful of confidently
    right solutions teaches more than many with a few wrong ones among them, which are
    mostly skipped or repeated steps (measured in BENCHMARKS.md, "A loop that climbs")."""
    vote_weight: float = Field(4.0, ge=0.0)
    """Self-consistency in the loop's selection score and its critic updates: the critic's
    log-odds plus this x (2 x share of the prompt's samples with the same answer - 1);
    ``critic.vote_weight`` is the bootstrap's self-labelling."""
    vote_among: Literal["all", "checked"] = "checked"
    """Whose answers the share is of. checked (default): only the samples passing the
    calculator and coverage checks vote, and the share is of them, so a problem most
    samples get wrong can still show a clear answer among the few that hold up. all: of
    every sample of the prompt (one failing the checks votes for nothing). Measured on an
    H100, 3 seeds each (BENCHMARKS.md): checked 71.9 -> 77.8 [77.7, 78.3], every seed
    p < 1e-10, above the oracle's 75.4; all 71.7 [70.7, 74.8], no better than selecting
    nothing (71.8). On 22 rounds of level-5 candidates: 98 right of 108 kept per round
    against 72 of 76, and 12 right on problems under half solved against none."""
    max_per_answer: int | None = Field(None, ge=1)
    select: Literal["critic", "oracle", "majority", "none"] = "critic"
    """critic (default), oracle (ground truth: STaR / RFT), majority (self-consistency), none."""
    search: Literal["sample", "tot"] = "sample"
    """How candidates are made: N independent samples, or the finished solutions of a
    Tree-of-Thoughts search guided by the critic (``search.*`` settings)."""
    update: Literal["sft", "ppo"] = "sft"
    """sft: fine-tune on the top-k selection. ppo: GRPO-style policy gradient on all N
    candidates, rewards = the selection rule's scores (critic p(good) by default)."""
    ppo_epochs: int = Field(1, ge=1)
    ppo_lr: float = Field(2e-4, gt=0)
    ppo_clip: float = Field(0.2, gt=0)
    ppo_kl: float = Field(0.05, ge=0)
    """Weight of the KL penalty to the frozen base model."""
    ppo_entropy: float = Field(0.001, ge=0)
    accumulate: bool = False
    """Train on the selections of every accepted iteration so far, not only the newest.
    Off (default) with ``continue_policy`` on: what was learned is kept in the policy
    itself, which each iteration continues from; on with ``continue_policy`` off: a fresh
    start on everything kept (ReST-EM). Measured on the CPU, seed 0 (BENCHMARKS.md):
    71.9 -> 77.6 in 18.5 min at 1.9 GB peak against 71.9 -> 77.7 in 28.7 min at 3.45 GB
    (the data and each round's fine-tuning grew 206 -> 1,146 examples over 5 rounds)."""
    replay: float = Field(10.0, ge=0.0)
    """Reference solutions of the levels below the frontier (the original data) replayed
    per selected solution trained on, so easy levels are not traded for hard ones; 0 = none.
    10 (default): on the previous embedded model (levels 1-4 + 2% level 5), 300 gold
    level-6 solutions with 10 replayed per
    solution lift level 6 29.5 -> 57.0 and level 5 89.5 -> 91.5, no level down more than
    2 points; with 3, level 6 -> 55.0 but level 5 -> 79.5; with 1, 48.0 and 67.0
    (`benchmarks/ceiling.py`, batches of mixed levels). The fine-tuning then sees
    mostly the data the model was pre-trained on, with the frontier a small share of it,
    as in the pre-training's stretch levels. In `seal run` on an H100 (seed 0): level 6
    29.5 -> 36.5 with the critic against 32.0 with 3 (BENCHMARKS.md, 2026-11-27)."""
    replay_only: bool = False
    """The control for what the selected solutions add: each round trains on the replayed
    reference solutions alone, as many as ``run.replay`` x the selected ones (which are
    still selected and logged, not trained on). Needs ``update`` sft and ``replay`` above 0.
    `benchmarks/efficacy.py --variants replay` runs it beside the selection rules. On the
    previous embedded model, seed 0, 48 prompts x 8 samples a round: level 6 29.5 -> 29.5 (trained
    on the critic's selections too: 33.5), so the loop's gain there is the selected data's,
    not the references' (BENCHMARKS.md, 2026-11-27)."""
    finetune: Literal["auto", "lora", "full"] = "auto"
    """lora: the policy is a LoRA adapter on the shared base (any model size). full: a
    second full copy of the base trained whole (small models: twice the weights in memory);
    the critic keeps its adapter on the frozen base. auto (default): full for models of at
    most 100M parameters (the embedded one: gold data lifts its hard levels twice as far
    fully fine-tuned, BENCHMARKS.md "Headroom ... update recipes"), LoRA above, and LoRA
    wherever an adapter is needed (``--backend vllm``, ``--update ppo``)."""
    continue_policy: bool = True
    """Fine-tune each iteration from the last accepted policy (default; a rolled-back
    iteration leaves it as it was), so what a round learned carries into the next at a
    constant cost per round; False: from the base model again each iteration (a fresh
    adapter, or the initial weights), which needs ``accumulate`` to keep earlier rounds."""
    sft_epochs: int = Field(2, ge=1)
    sft_lr: float | None = Field(None, gt=0)
    """Fine-tuning learning rate; null (default): 5e-4 for a LoRA policy, 1e-4 for full
    fine-tuning (the best measured trade of hard-level gain against easy-level loss)."""
    sft_weight_decay: float = Field(0.01, ge=0)
    sft_micro_batch: Annotated[int, Field(ge=1)] | Literal["auto"] = "auto"
    """Examples per forward/backward pass of the policy's fine-tuning. Each batch of 16
    (levels mixed) is sorted by length and cut into passes of this many, so each pass pads
    only to its own longest; gradients add up over the passes, so the update is the same.
    auto (default): 4 on the CPU, where a padded token costs as much as a real one (a
    round's batches, replay mixed in, padded to 1.64x their real tokens in one pass and
    1.20x in passes of 4: an epoch of 660 examples 22.7 -> 18.1 s on 2 threads, 1.25x;
    `make run` 17.7 min; BENCHMARKS.md), the whole batch on a GPU, where one pass costs
    less than four."""
    critic_update: bool = True
    critic_update_size: int = Field(96, ge=1)
    """Most new self-labels the critic trains on per iteration (plus half as many replayed
    bootstrap labels, one epoch)."""
    validation_per_level: int = Field(100, ge=1)
    test_per_level: int = Field(200, ge=1)
    tolerance: float = Field(0.01, ge=0.0)
    """Accept a new policy unless validation accuracy drops by more than this."""
    level_tolerance: float | None = Field(0.1, ge=0.0, le=1.0)
    """... nor any level's validation accuracy by more than this (null: no per-level check);
    wide enough for the noise of 100 problems per level, narrow enough to catch a level
    traded away (a run on mostly wrong level-5 selections lost 12 points there)."""
    patience: int = Field(3, ge=1)
    """Stop after this many iterations in a row without a validation gain: overall, or on
    the levels the iteration sampled (the frontier can climb while the overall accuracy,
    mostly levels already solved, moves by noise: on the previous embedded model (levels
    1-4 + 2% level 5) a run stopped at round 3 with level 6
    rising 26 -> 27 -> 29 -> 33 and the overall 74.3 -> 74.3 -> 74.0). 3 (default): of the
    3 seeds measured to 12 rounds, one rolled round 6 back and gained nothing on validation
    in round 7, where 2 would have stopped it; it went on to end levels 6+7 at +26% after
    8 rounds and +54% after 12 (+18% after 5). With 5 rounds, 3 had added a round that
    gained nothing (+4 min; BENCHMARKS.md)."""
    report_to: list[str] = []
    """Experiment trackers for per-iteration metrics: tensorboard, wandb, mlflow."""
    audit_size: int = Field(64, ge=0)
    """Verifier-labelled candidates per iteration used only to audit the critic (reward hacking)."""
    seed: int = Field(0, ge=0, le=MAX_SEED)


PRESETS: dict[str, dict[str, Any]] = {
    "tiny-cpu": {
        "critic.problems_per_level": 24,
        "critic.epochs": 2,
        "critic.consistency": 0.0,
        "eval.levels": [1, 2, 3, 4, 5, 6, 7, 8],
    },
    "paper": {
        "run.samples": 500,
        "run.top_k": 50,
        "run.iterations": 5,
        "run.prompts_per_level": 200,
        "critic.labels": 200,
        "critic.problems_per_level": 40,
        "critic.samples_per_problem": 5,
        "sampling.batch_size": 256,
    },
}
"""Named bundles of overrides for ``seal run``: ``tiny-cpu`` (the default: a half-size
critic bootstrap without the inconsistency penalty, which halves its training and measured
no different twice (held-out AUROC 0.875 without, 0.872 with; BENCHMARKS.md), and wordmath
levels 1-8 evaluated: the embedded model was pre-trained on levels 1-5, its edge is levels
6-8 (52.5%, 7.5% and 2.5% greedy), and the loop climbs from level 6 to level 7 by itself)
and ``paper`` (the seed's setting:
N = 500, top-k = 50, 1000 bootstrap samples per task, 200 labels, 5 iterations) for GPUs."""


class SealConfig(_Section):
    model: ModelConfig = ModelConfig()
    sampling: SamplingConfig = SamplingConfig()
    eval: EvalConfig = EvalConfig()
    pretrain: PretrainConfig = PretrainConfig()
    critic: CriticConfig = CriticConfig()
    search: SearchConfig = SearchConfig()
    run: RunConfig = RunConfig()
    runs_dir: Path = Path("runs")
    """Where run directories are created (``~`` is the home directory, as in a shell)."""

    @field_validator("runs_dir")
    @classmethod
    def _home(cls, path: Path) -> Path:
        return path.expanduser()


_PLAIN = (
    ("Input should be greater than or equal to ", "should be at least "),
    ("Input should be less than or equal to ", "should be at most "),
    ("Input should be greater than ", "should be above "),
    ("Input should be less than ", "should be below "),
    ("Input should be ", "should be "),
    ("String should have at least 1 character", "should not be empty"),
    ("String should ", "should "),
)


def _plain(msg: str) -> str:
    """Pydantic's "Input should be greater than or equal to 1" as "should be at least 1"."""
    for old, new in _PLAIN:
        if msg.startswith(old):
            return new + msg.removeprefix(old)
    return msg


def _format_error(
    err: ValidationError, root: type[BaseModel], names: dict[str, str] | None = None
) -> str:
    """One line naming the key (or, for a key set by a command-line flag, the flag: ``names``
    maps ``eval.limit`` to ``--limit``) and what its value should be."""
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"])
    if e["type"] == "extra_forbidden":
        parent: Any = root
        for part in e["loc"][:-1]:
            field = parent.model_fields.get(str(part))
            parent = field.annotation if field else None
            if parent is None:
                break
        allowed = ", ".join(parent.model_fields) if parent is not None else "?"
        return f"unknown config key '{loc}'; allowed keys here: {allowed}"
    where = _field_path(e["loc"], root)
    key = ".".join(map(str, where))
    flag = (names or {}).get(".".join(map(str, where[:2])))
    if flag is not None:
        got = e.get("input")
        msgs = [
            _plain(x["msg"].removeprefix("Value error, "))
            for x in err.errors()
            if _field_path(x["loc"], root)[:2] == where[:2]
        ]
        return f"{flag} {' or '.join(dict.fromkeys(msgs))} (got {got!r})"
    if e["type"] == "model_type":  # a whole section given one value: `--set run=3`
        return f"config key '{key}' is a section, not a value; set its keys: {key}.KEY=VALUE"
    if e.get("input", "") is None:  # `--set runs_dir=` reads as null
        return f"config key '{key}' needs a value (got none)"
    # a union (e.g. a number or "auto") fails once per member: say every way it can be met
    msgs = [
        _plain(x["msg"].removeprefix("Value error, "))
        for x in err.errors()
        if _field_path(x["loc"], root) == where
    ]
    lead = "should be "
    msg = msgs[0] + "".join(
        ", or " + (m.removeprefix(lead) if msgs[0].startswith(lead) else m) for m in msgs[1:]
    )
    got = e.get("input")
    return f"config key '{key}': {msg} (got {got!r})"


def _field_path(loc: tuple[Any, ...], root: type[BaseModel]) -> tuple[Any, ...]:
    """``loc`` up to its field (list indices kept), without pydantic's union-member tags."""
    out: list[Any] = []
    parent: Any = root
    for part in loc:
        if isinstance(part, int):
            out.append(part)
        elif isinstance(parent, type) and issubclass(parent, BaseModel):
            field = parent.model_fields.get(str(part))
            if field is None:
                break
            out.append(part)
            parent = field.annotation
        else:
            break
    return tuple(out)


def parse_config(
    data: dict[str, Any],
    names: dict[str, str] | None = None,
    source: tuple[Path, dict[str, Any], Collection[str]] | None = None,
) -> SealConfig:
    """``data`` as a config, or one line naming the key (or flag: ``names``) at fault.
    ``source``: (a YAML file, what it set, the keys set over it); an error in a key the file
    set and nothing overrode names the file, the one a user edits."""
    try:
        return SealConfig.model_validate(data)
    except ValidationError as err:
        message = _format_error(err, SealConfig, names)
        if source is not None:
            path, from_file, overrides = source
            key = _error_key(err, SealConfig)
            overridden = any(k == key or k.startswith(key + ".") for k in overrides)
            if not overridden and _holds(from_file, key.split(".")):
                message = f"{path}: {message}"
        raise SealError(message) from None


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SealError(f"config key '{key}': '{part}' is not a section")
    node[parts[-1]] = value


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(
    path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    preset: dict[str, Any] | str | None = None,
    names: dict[str, str] | None = None,
) -> SealConfig:
    """Defaults < ``preset`` < the YAML file < dotted ``overrides`` (``{"sampling.seed": 3}``);
    an override of ``None`` sets the key to null (``--set eval.limit=null``). ``names``: the
    command-line flag that set an override (``{"eval.limit": "--limit"}``), for its errors.
    ``preset``: its settings, or its name in ``PRESETS`` (``"tiny-cpu"``)."""
    if isinstance(preset, str):  # a preset's name, as `seal run --preset` takes it
        if preset not in PRESETS:
            raise SealError(f"unknown preset {preset!r}; presets: {', '.join(PRESETS)}")
        preset = PRESETS[preset]
    for what, given in (("overrides", overrides), ("preset", preset)):
        if given is not None and not isinstance(given, dict):
            raise SealError(f"load_config's {what} is a dict of dotted keys, got {given!r}")
    base: dict[str, Any] = {}
    for key, value in (preset or {}).items():
        _set_dotted(base, key, value)
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        check_file(path, "config file")
        try:
            loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
        except PermissionError:
            raise SealError(f"config file {path} cannot be read (permission denied)") from None
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise SealError(f"config file {path} is not valid YAML: {_yaml_problem(err)}") from None
        except (ValueError, RecursionError) as err:  # a 5,000-digit number, [[[[...
            raise SealError(f"config file {path} {json_limit(err)}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise SealError(f"config file {path} must hold a mapping of sections")
        data = loaded or {}
    from_file = data
    data = _merge(base, data)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    source = None if path is None else (path, from_file, list(overrides or {}))
    return parse_config(data, names, source)


def _error_key(err: ValidationError, root: type[BaseModel]) -> str:
    """The dotted key ``_format_error`` names for ``err``."""
    e = err.errors()[0]
    parts = e["loc"] if e["type"] == "extra_forbidden" else _field_path(e["loc"], root)
    return ".".join(map(str, parts))


def _holds(data: Any, parts: list[str]) -> bool:
    """Whether the nested mapping ``data`` sets the key ``parts`` (``["run", "iterations"]``)."""
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses a key given twice in one mapping (plain YAML keeps
    the last one silently: a config whose ``run:`` section appears twice would run with half
    of what its author wrote)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults`: keys merged in may be given again here
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str | int | float | bool | None):
                continue  # an unhashable key: the base class says what is wrong with it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one section", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(err: Exception) -> str:
    """What is wrong and where, in one line: ``found character '\\t' ... (line 2, column 1)``."""
    problem = getattr(err, "problem", None)
    mark = getattr(err, "problem_mark", None)
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(err).splitlines()[0]


def parse_set(pairs: list[str]) -> dict[str, Any]:
    """``["sampling.seed=3", "eval.levels=[4,5]"]`` to overrides; values are read as YAML."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise SealError(f"--set expects key=value, got {pair!r}")
        key, raw = pair.split("=", 1)
        if not key.strip():
            raise SealError(f"--set expects key=value, got {pair!r} (no key)")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise SealError(f"--set {pair!r}: the value is not valid YAML; quote it") from None
        except (ValueError, RecursionError) as err:
            raise SealError(f"--set {key.strip()}: the value {json_limit(err)}") from None
    return out


def dump_config(config: SealConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
