"""The critic adapter on the embedded model: scoring, training, isolation, save/load, errors."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from seal.adapters import load_adapter, save_adapter, with_adapters
from seal.config import CriticConfig
from seal.critic.calculator import (
    arithmetic_holds,
    fresh_operands,
    uses_each_quantity,
    uses_every_quantity,
    with_calculator,
)
from seal.critic.data import (
    Trajectory,
    balanced,
    outcome_examples,
    perturb,
    read_labels,
    step_examples,
)
from seal.critic.model import Critic, Verdict, combine, two_way_entropy
from seal.critic.pipeline import (
    agreement,
    run_critic_training,
    self_label,
    vote_share,
    with_votes,
)
from seal.critic.prompt import label_tokens
from seal.critic.train import _accumulate, train_critic
from seal.errors import SealError
from seal.generation.base import SamplingParams
from seal.generation.hf import HFSampler
from seal.tasks import get_task

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture()
def peft_model(tiny):
    torch.manual_seed(0)
    return with_adapters(copy.deepcopy(tiny.model), r=8, alpha=16, dropout=0.0)


def _trajs(n: int, seed: int = 0) -> list[Trajectory]:
    """Reference solutions (good) and the same with a wrong final answer (bad)."""
    task = get_task("wordmath", levels=[1, 2])
    out = []
    for p in task.problems("train", limit=n):
        out.append(Trajectory(p.id, p.question, " " + p.solution, p.answer, 1, p.level))
        wrong = p.solution.rsplit("####", 1)[0] + f"#### {int(p.answer) + 7}"
        out.append(Trajectory(p.id, p.question, " " + wrong, str(int(p.answer) + 7), 0, p.level))
    random.Random(seed).shuffle(out)
    return out


def test_label_tokens_are_single_tokens(tiny) -> None:
    labels = label_tokens(tiny.tokenizer)
    assert (labels.good, labels.bad) == ("1", "0")
    assert labels.good_id != labels.bad_id


def test_scores_are_probabilities_and_batch_invariant(peft_model, tiny) -> None:
    trajs = _trajs(3)
    qs, ss = [t.question for t in trajs], [t.solution for t in trajs]
    one = Critic(peft_model, tiny.tokenizer, batch_size=1).score(qs, ss)
    many = Critic(peft_model, tiny.tokenizer, batch_size=8).score(qs, ss)
    for a, b in zip(one, many, strict=True):
        assert 0.0 <= a.p_good <= 1.0
        assert a.p_good == pytest.approx(b.p_good, abs=1e-4)
        assert a.entropy == pytest.approx(two_way_entropy(a.p_good), abs=1e-6)
    # right padding: every row starts with a real token, so no query row attends to nothing
    # (a left pad would: CUDA's attention backward made NaN gradients of such rows)
    ids, mask = Critic(peft_model, tiny.tokenizer).encode(["a", "b c d e f g h i j k l"])
    assert mask[:, 0].all() and not mask[:, -1].all()


def test_training_moves_critic_but_not_policy(peft_model, tiny) -> None:
    critic = Critic(peft_model, tiny.tokenizer, batch_size=8)
    sampler = HFSampler(peft_model, tiny.tokenizer)
    prompts = ["Question: Mia has 5 apples. She buys 3 more apples. How many now?\nAnswer:"]
    before = sampler.sample(prompts, SamplingParams(temperature=0.0, max_new_tokens=60), quiet=True)
    trajs = _trajs(6)
    s0 = [v.p_good for v in critic.score([t.question for t in trajs], [t.solution for t in trajs])]
    examples = outcome_examples(trajs, random.Random(0), critic.labels.good, steps=False)
    losses = train_critic(
        critic, examples, CriticConfig(epochs=3, lr=3e-3, batch_size=8), quiet=True
    )
    assert losses[-1] < losses[0]
    s1 = [v.p_good for v in critic.score([t.question for t in trajs], [t.solution for t in trajs])]
    assert s0 != s1
    assert peft_model.active_adapter == "policy"
    after = sampler.sample(prompts, SamplingParams(temperature=0.0, max_new_tokens=60), quiet=True)
    assert before == after  # the policy adapter is untouched by critic training


def test_micro_batches_give_the_same_gradient(tiny) -> None:
    """Accumulating over micro-batches is the whole-batch gradient (a memory knob only)."""
    trajs = _trajs(5)
    torch.manual_seed(0)
    model = with_adapters(copy.deepcopy(tiny.model), r=8, alpha=16, dropout=0.0)
    critic = Critic(model, tiny.tokenizer, bf16="off")
    examples = outcome_examples(trajs, random.Random(0), critic.labels.good, steps=False)[:10]
    weight = torch.tensor([1.0, 1.5])
    grads, losses = [], []
    with critic.active():
        for micro in (10, 3):
            model.zero_grad(set_to_none=True)
            settings = CriticConfig(batch_size=10, micro_batch_size=micro, consistency=0.5)
            losses.append(_accumulate(critic, examples, settings, weight))
            grads.append(
                {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
            )
    assert grads[0].keys() == grads[1].keys() and grads[0]
    assert all("critic" in k for k in grads[0])
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    for k, g in grads[0].items():
        # float32 summation order differs by micro-batch and by CPU kernel: up to ~3e-5 of a
        # tensor's scale seen (3.9e-7 on a max of 0.014); a wrong micro-batch weighting errs
        # by tens of percent
        err = (g - grads[1][k]).abs().max().item()
        assert err <= 1e-4 * g.abs().max().item(), (k, err)


def test_save_load_roundtrip_and_mismatch(peft_model, tiny, tmp_path: Path) -> None:
    critic = Critic(peft_model, tiny.tokenizer)
    for p in peft_model.parameters():  # make the critic adapter non-trivial
        if p.requires_grad:
            pass
    with critic.active():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name and ".critic." in name:
                torch.nn.init.normal_(p, std=0.02)
    trajs = _trajs(2)
    qs, ss = [t.question for t in trajs], [t.solution for t in trajs]
    ref = [v.p_good for v in critic.score(qs, ss)]
    save_adapter(peft_model, "critic", tmp_path / "critic")
    other = with_adapters(copy.deepcopy(tiny.model), r=8, alpha=16, dropout=0.0)
    load_adapter(other, "critic", tmp_path / "critic")
    got = [v.p_good for v in Critic(other, tiny.tokenizer).score(qs, ss)]
    assert got == pytest.approx(ref, abs=1e-5)
    # an adapter for another architecture is a one-line error and leaves the old one in place
    small = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=64,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
        )
    )
    foreign = with_adapters(small, r=8, alpha=16)
    save_adapter(foreign, "critic", tmp_path / "foreign")
    with pytest.raises(SealError, match="does not match the base model") as err:
        load_adapter(other, "critic", tmp_path / "foreign")
    assert "\n" not in str(err.value)
    again = [v.p_good for v in Critic(other, tiny.tokenizer).score(qs, ss)]
    assert again == pytest.approx(ref, abs=1e-5)
    with pytest.raises(SealError, match="not a saved adapter"):
        load_adapter(other, "critic", tmp_path)


def test_self_label_keeps_only_confident(peft_model, tiny) -> None:
    critic = Critic(peft_model, tiny.tokenizer)
    trajs = _trajs(4)
    verdicts = critic.score([t.question for t in trajs], [t.solution for t in trajs])
    cut = sorted(v.entropy for v in verdicts)[len(verdicts) // 2]
    kept, stats = self_label(critic, trajs, cut, use_consistency=False)
    assert len(kept) == sum(v.entropy < cut for v in verdicts)
    assert stats["kept_fraction"] == pytest.approx(len(kept) / len(trajs))
    assert all(
        k.truth == int(v.p_good >= 0.5)
        for k, v in zip(kept, [v for v in verdicts if v.entropy < cut], strict=True)
    )


def test_injected_solutions_are_negatives_whatever_their_math() -> None:
    trajs = _trajs(10)  # as many right as wrong
    truth = {t.solution: t.truth for t in trajs}
    examples = outcome_examples(trajs, random.Random(0), "1", injections=0.5, steps=False)
    injected = [e for e in examples if e.solution not in truth]
    assert len(examples) == len(trajs) + len(injected)
    assert all(e.label == 0 for e in injected)
    originals = [truth[e.solution.rsplit("\n", 1)[0]] for e in injected]
    assert originals.count(1) == originals.count(0) == len(trajs) // 4  # half of each class


def test_perturbed_solutions_differ_in_one_line_and_look_finished() -> None:
    """A step dropped, a step repeated or a number changed; first and last lines kept."""
    task = get_task("wordmath", levels=[4])
    right = task.problems("train", limit=1)[0].solution
    lines = right.split("\n")
    seen = set()
    for seed in range(40):
        wrong = perturb(right, random.Random(seed))
        assert wrong is not None and wrong != right
        out = wrong.split("\n")
        assert out[0] == lines[0] and out[-1] == lines[-1]
        if len(out) == len(lines) - 1:
            seen.add("drop")
        elif sorted(out) != sorted(lines) and len(out) == len(lines):
            changed = [i for i, (a, b) in enumerate(zip(out, lines, strict=True)) if a != b]
            seen.add("repeat" if out[changed[0]] == out[changed[0] - 1] else "number")
    assert seen == {"drop", "repeat", "number"}
    assert perturb("x = 1.\n#### 1", random.Random(0)) is None  # no middle line


def test_perturbations_add_bad_twins_of_good_solutions() -> None:
    task = get_task("wordmath", levels=[3])
    problems = task.problems("train", limit=6)
    trajs = [Trajectory(p.id, p.question, p.solution, truth=1) for p in problems]
    trajs += [Trajectory("w", "q", "a wrong one", truth=0)]
    plain = outcome_examples(trajs, random.Random(0), "1", injections=0.0, steps=False)
    twins = outcome_examples(
        trajs, random.Random(0), "1", injections=0.0, steps=False, perturbations=1.0
    )
    extra = [
        e
        for e in twins
        if (e.question, e.solution) not in {(t.question, t.solution) for t in trajs}
    ]
    assert len(plain) == len(trajs) and len(extra) == 6  # one per good solution
    assert all(e.label == 0 for e in extra)
    assert {e.question for e in extra} == {p.question for p in problems}  # same problems


def test_vote_share_counts_the_prompts_samples() -> None:
    ts = [
        Trajectory("a", "q", "s1", "4"),
        Trajectory("a", "q", "s2", "4"),
        Trajectory("a", "q", "s3", "5"),
        Trajectory("a", "q", "s4", None),
        Trajectory("b", "q", "s5", "4"),
    ]
    assert vote_share(ts) == pytest.approx([0.5, 0.5, 0.25, 0.0, 1.0])


def test_only_marked_samples_vote() -> None:
    """Solutions kept from voting (a false equation) get 0 and give the others nothing,
    but still count among the prompt's samples."""
    ts = [Trajectory("a", "q", f"s{i}", a) for i, a in enumerate(["4", "4", "4", "5"])]
    assert vote_share(ts, [True, False, True, True]) == pytest.approx([0.5, 0.0, 0.5, 0.25])
    with pytest.raises(ValueError):
        vote_share(ts, [True])


def test_shares_among_the_checked_samples_alone() -> None:
    """``among_voters``: a prompt whose samples mostly fail the checks still shows a clear
    answer among the ones that pass (2 of 3 checked agree: 2/3, not 2/6)."""
    answers = ["7", "7", "9", "7", "3", "7"]
    ts = [Trajectory("a", "q", f"s{i}", a) for i, a in enumerate(answers)]
    ts.append(Trajectory("b", "q", "t", "1"))
    marks = [True, True, True, False, False, False, False]
    assert vote_share(ts, marks) == pytest.approx([2 / 6, 2 / 6, 1 / 6, 0, 0, 0, 0])
    among = vote_share(ts, marks, among_voters=True)
    assert among == pytest.approx([2 / 3, 2 / 3, 1 / 3, 0, 0, 0, 0])  # b: none voted, no share


def test_calculator_recomputes_every_equation() -> None:
    good = "Raj has 36 books: x = 36.\nHe shares them among 4 boxes: x = 36 / 4 = 9.\n#### 9"
    slip = "A pump adds 11 liters per minute for 7 minutes: 11 * 7 = 77, x = 57 + 77 = 144."
    assert arithmetic_holds(good)
    assert not arithmetic_holds(slip)
    assert not arithmetic_holds("She has <<48/2=25>>25 clips.\n#### 25")  # GSM8K-style
    assert arithmetic_holds("def f(x):\n    return x + 1")  # nothing to check
    assert arithmetic_holds("The answer is (B).")
    v = [Verdict(0.9, two_way_entropy(0.9)), Verdict(0.9, two_way_entropy(0.9))]
    kept, vetoed = with_calculator(v, [True, False])
    assert kept == v[0] and vetoed.p_good == 0.0 and vetoed.label == 0


def test_coverage_finds_a_quantity_of_the_question_left_unused() -> None:
    q = "Raj has 36 books. He shares them among 4 boxes. He sells 6 books. How many are left?"
    skipped = "Raj has 36 books: x = 36.\nHe shares them: x = 36 / 4 = 9.\n#### 9"
    right = skipped.replace("#### 9", "He sells 6: x = 9 - 6 = 3.\n#### 3")
    assert uses_every_quantity(q, right)
    assert not uses_every_quantity(q, skipped)  # "sells 6" never applied
    assert not uses_every_quantity(q, skipped + " 6")  # a number after the answer is not working
    # GSM8K forms: 1,200 is 1200; 30% may be written 0.3, 70 or 0.7; 1/2 as 2 (or 0.5)
    gsm = "A $1,200 laptop is 30% off. He pays 1/2 now. How much does he pay now?"
    assert uses_every_quantity(gsm, "1200 * 0.7 = 840\n840 / 2 = 420\n#### 420")
    assert not uses_every_quantity(gsm, "1200 / 2 = 600\n#### 600")  # the discount skipped
    assert uses_every_quantity(q, "The answer is (B).")  # no equation: nothing to check
    assert uses_every_quantity("Write a function.", "x = 1 + 1 = 2")  # no quantity given


# A level-6 loop candidate (iteration 1, seed 0) that lost its place: it skipped the last
# sentence, whose 2s appear elsewhere, so only a count of the quantities sees it.
TANK = (
    "A tank holds 3 liters of water. A pump adds 10 liters per minute for 5 minutes. A leak "
    "drains 2 liters. Rain adds 19 liters. A pump adds 2 liters per minute for 2 minutes. "
    "How many liters of water are in the tank now?"
)
TANK_SKIPPED = """ Let x = the liters of water in the tank.
A tank holds 3 liters of water: x = 3.
A pump adds 10 liters per minute for 5 minutes: 5 * 10 = 50, x = 50 + 3 = 53.
A leak drains 2 liters: x = 53 - 2 = 51.
Rain adds 19 liters: x = 19 + 51 = 70.
Check: 70 - 19 = 51.
#### 70"""
TANK_RIGHT = TANK_SKIPPED.replace(
    "Check: 70 - 19 = 51.\n#### 70",
    "A pump adds 2 liters per minute for 2 minutes: 2 * 2 = 4, x = 4 + 70 = 74.\n#### 74",
)


def test_counted_coverage_sees_a_skipped_step_whose_numbers_appear_elsewhere() -> None:
    assert uses_every_quantity(TANK, TANK_SKIPPED)  # every number is somewhere
    assert not uses_each_quantity(TANK, TANK_SKIPPED)  # but 2 is stated three times
    assert uses_each_quantity(TANK, TANK_RIGHT)
    # a carried result is not a fresh operand: 51 is produced, then used twice
    assert fresh_operands("x = 53 - 2 = 51\nx = 19 + 51 = 70\nCheck: 70 - 19 = 51") == {
        53: 1,
        2: 1,
        19: 2,
    }
    # a question number that equals an earlier result still counts when used again
    q = "Ann has 25 pens. She splits them among 5 boxes and keeps one. She buys 5 more."
    assert uses_each_quantity(q, "x = 25 / 5 = 5\nx = 5 + 5 = 10\n#### 10")
    assert not uses_each_quantity(q, "x = 25 / 5 = 5\nx = 5 * 2 = 10\n#### 10")
    # 20% may be written 80 or 20: it must not take the 20 another sentence needs
    q = "A bus has 135 people. 20% get off. Then 20 get on. How many are on it?"
    ref = "x = 135 * 80 / 100 = 108\nx = 108 + 20 = 128\n#### 128"
    assert uses_each_quantity(q, ref)
    assert not uses_each_quantity(q, "x = 135 - 20 = 115\n#### 115")
    # GSM8K forms as in the plain check; no equation, nothing to count
    gsm = "A $1,200 laptop is 30% off. He pays 1/2 now. How much does he pay now?"
    assert uses_each_quantity(gsm, "1200 * 0.7 = 840\n840 / 2 = 420\n#### 420")
    assert uses_each_quantity(TANK, "The answer is (B).")


def test_coverage_setting_reads_old_flags_and_resolves_by_task() -> None:
    from seal.config import load_config
    from seal.improve.candidates import coverage_rule
    from seal.tasks.gsm8k import GSM8K
    from seal.tasks.wordmath import WordMath

    assert CriticConfig(coverage=True).coverage == "auto"  # configs written before "each"
    assert CriticConfig(coverage=False).coverage == "off"
    assert coverage_rule("auto", WordMath()) == "each"
    assert coverage_rule("auto", GSM8K()) == "any"  # free-form solutions
    assert coverage_rule("any", WordMath()) == "any"
    with pytest.raises(SealError, match="critic.coverage"):
        load_config(overrides={"critic.coverage": "most"})


def test_votes_sharpen_or_soften_the_verdict() -> None:
    v = [Verdict(0.7, two_way_entropy(0.7))] * 3
    assert with_votes(v, [1.0, 0.5, 0.0], 0.0) == v  # weight 0: the critic alone
    agreed, split, lone = with_votes(v, [1.0, 0.5, 0.0], 1.0)
    assert agreed.p_good > 0.7 and agreed.entropy < v[0].entropy  # most samples agree
    assert split.p_good == pytest.approx(0.7)  # a 50/50 vote changes nothing
    assert lone.p_good < 0.7 and lone.entropy > v[0].entropy  # nobody else agrees
    assert agreed.entropy == pytest.approx(two_way_entropy(agreed.p_good))


def test_self_label_votes_count_the_whole_population(peft_model, tiny) -> None:
    """Votes come from every sample of a prompt, labelled ones included: a lone answer
    among the unlabelled remainder is not a unanimous one."""
    critic = Critic(peft_model, tiny.tokenizer)
    everyone = [Trajectory("a", "q", f"s{i}", "4" if i < 3 else "9", 1) for i in range(4)]
    rest = everyone[3:]  # the only "9"; the three "4"s were labelled by hand
    verdicts = [Verdict(0.6, two_way_entropy(0.6))]
    _, alone = self_label(critic, rest, 0.7, False, verdicts=verdicts, vote_weight=2.0)
    _, among = self_label(
        critic, rest, 0.7, False, verdicts=verdicts, vote_weight=2.0, population=everyone
    )
    assert alone["kept_good"] == 1  # counted alone it looks unanimous: good
    assert among["kept_good"] == 0  # one of four answers: bad
    assert among["vote_weight"] == 2.0


def test_agreement_with_majority() -> None:
    ts = [
        Trajectory("a", "q", "s1", "4"),
        Trajectory("a", "q", "s2", "4"),
        Trajectory("a", "q", "s3", "5"),
        Trajectory("b", "q", "s4", None),
    ]
    assert agreement(ts) == {0: True, 1: True, 2: False, 3: False}


def test_step_examples_label_wrong_steps() -> None:
    t = _trajs(1)[0]
    lines = t.solution.strip().splitlines()
    i = next(
        i
        for i, line in enumerate(lines)
        if "+" in line or "-" in line or "*" in line or "/" in line
    )
    lhs, rhs = lines[i].rsplit("= ", 1)
    lines[i] = f"{lhs}= {int(rhs.rstrip('.')) + 3}."
    bad = Trajectory(t.problem_id, t.question, "\n".join(lines), truth=0)
    ex = step_examples(bad, random.Random(0))
    assert any(e.label == 0 and e.solution.splitlines()[-1] == lines[i] for e in ex)
    assert all(e.kind == "step" for e in ex)


def test_balanced_and_single_class(peft_model, tiny) -> None:
    trajs = _trajs(10)
    chosen = balanced(trajs, 8, random.Random(0))
    assert len(chosen) == 8 and sum(t.truth for t in chosen) == 4
    critic = Critic(peft_model, tiny.tokenizer)
    only_good = [t for t in trajs if t.truth == 1]
    with pytest.raises(SealError, match="all 4 labels are good"):
        run_critic_training(
            critic, only_good, CriticConfig(labels=4, heldout_fraction=0.0), quiet=True
        )
    with pytest.raises(SealError, match="only 40 labelled trajectories for --labels 50"):
        run_critic_training(
            critic, trajs, CriticConfig(labels=50, heldout_fraction=0.0), quiet=True
        )


def test_combine() -> None:
    assert combine(0.9, [0.8, 0.2], "min") == 0.2
    assert combine(0.9, [0.8, 0.2], "outcome") == 0.9
    assert combine(0.5, [1.0, 0.0], "mean") == 0.5
    assert combine(0.5, [0.5], "product") == 0.25


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ([{"prompt": "q", "solution": "s"}], ":1: missing field(s) label"),
        ([{"solution": "s", "label": 1}], ":1: missing field prompt"),
        ([{"prompt": "q", "solution": "s", "label": "maybe"}], ":1: label must be"),
    ],
)
def test_label_file_errors(rows, needle, tmp_path: Path) -> None:
    f = tmp_path / "labels.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(SealError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        read_labels(f)


def test_label_file_values(tmp_path: Path) -> None:
    f = tmp_path / "labels.jsonl"
    f.write_text(
        json.dumps({"question": "q", "solution": "a", "label": "good"})
        + "\n"
        + json.dumps({"prompt": "q", "solution": "b", "label": 0})
        + "\n"
    )
    assert [t.truth for t in read_labels(f)] == [1, 0]


def test_labels_of_one_class_say_what_to_do() -> None:
    """A critic needs right and wrong solutions: one class is an error naming the fix for
    where the labels came from (the model's own samples or a file)."""
    from seal.critic.data import Trajectory
    from seal.critic.pipeline import check_labelled, sampled_one_class
    from seal.errors import SealError

    bad = [Trajectory(str(i), "q", "s", truth=0) for i in range(4)]
    with pytest.raises(SealError, match=r"^all 4 labels are bad; .*solved none .*--levels"):
        check_labelled(bad, 4, "lower --labels", sampled_one_class(levels=True))
    # a task without levels (gsm8k) is not told to change --levels, which it has none of
    with pytest.raises(SealError, match=r"^all 4 labels are bad; .*solved none") as err:
        check_labelled(bad, 4, "lower --labels", sampled_one_class(levels=False))
    assert "--levels" not in str(err.value) and "samples_per_problem" in str(err.value)
    good4 = [Trajectory(str(i), "q", "s", truth=1) for i in range(4)]
    with pytest.raises(SealError, match=r"^all 4 labels are good; .*harder task$"):
        check_labelled(good4, 4, "lower --labels", sampled_one_class(levels=False))
    good = [Trajectory(str(i), "q", "s", truth=1) for i in range(4)]
    with pytest.raises(SealError, match=r"^all 4 labels are good; .*add bad ones$"):
        check_labelled(good, 4, "lower --labels")
    check_labelled(bad[:2] + good[:2], 4, "lower --labels")  # both classes: fine
