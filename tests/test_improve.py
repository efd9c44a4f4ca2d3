from __future__ import annotations

import copy

import pytest
import torch

from seal.adapters import with_adapters
from seal.errors import SealError
from seal.improve.finetune import accumulate_grads, epoch_batches, micro_batches, sft
from seal.improve.select import Candidate, select_top_k
from seal.precision import clip_or_stop

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_select_top_k() -> None:
    cands = [
        Candidate("p", "a", "1", 0.9),
        Candidate("p", "a ", "1", 0.95),  # duplicate text
        Candidate("p", "b", "1", 0.8),
        Candidate("p", "c", "1", 0.7),
        Candidate("p", "d", "2", 0.6),
        Candidate("p", "e", "3", 0.1),
        Candidate("q", "z", "1", 0.2),
    ]
    out = select_top_k(cands, k=3, min_score=0.5, max_per_answer=2)
    assert [c.text for c in out["p"]] == ["a ", "b", "d"]
    assert "q" not in out  # nothing passed the minimum score
    with pytest.raises(ValueError):
        select_top_k(cands, k=0)


def test_sft_raises_likelihood_of_targets(tiny) -> None:
    torch.manual_seed(0)
    model = with_adapters(copy.deepcopy(tiny.model), r=8, alpha=16, dropout=0.0)
    tok = tiny.tokenizer
    pairs = [("Question: What is seven plus six?\nAnswer:", " Let x = 13.\n#### 13")] * 4

    def nll() -> float:
        p = tok(pairs[0][0])["input_ids"]
        c = tok(pairs[0][1], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        ids = torch.tensor([p + c])
        labels = torch.tensor([[-100] * len(p) + c])
        with torch.no_grad():
            return model(input_ids=ids, labels=labels).loss.item()

    before = nll()
    losses = sft(model, tok, pairs, epochs=3, lr=3e-3, batch_size=4, quiet=True)
    assert losses[-1] < losses[0]
    assert nll() < before


def test_epoch_batches_mix_lengths_unless_asked_to_sort() -> None:
    import random

    # 40 examples of two lengths (two levels), in blocks as a loop's data arrives
    examples = [([1] * 5, [2] * n) for n in [3] * 24 + [30] * 16]
    mixed = epoch_batches(examples, 8, random.Random(0))
    assert sorted(map(len, mixed)) == [8] * 5
    assert sorted(x for b in mixed for x in b) == sorted(examples)  # each example once
    assert any(len({len(c) for _, c in b}) == 2 for b in mixed)  # some batch has both
    by_length = epoch_batches(examples, 8, random.Random(0), mixed=False)
    assert all(len({len(c) for _, c in b}) == 1 for b in by_length)
    assert epoch_batches(examples, 8, random.Random(0)) == mixed  # seeded: every rank alike


def test_micro_batches_group_a_batch_by_length() -> None:
    batch = [([1] * 3, [2] * n) for n in (40, 2, 30, 5, 8, 1, 20)]
    parts = micro_batches(batch, 3)
    assert [len(p) for p in parts] == [3, 3, 1]
    assert sorted(x for p in parts for x in p) == sorted(batch)  # each example once
    lengths = [[len(c) for _, c in p] for p in parts]
    assert lengths == [[1, 2, 5], [8, 20, 30], [40]]  # each pass pads to its own longest
    assert micro_batches(batch, None) == [batch] == micro_batches(batch, 7)
    assert micro_batches([], 4) == []


def test_micro_batches_give_the_whole_batch_gradient(tiny) -> None:
    """Passes of 2 rows accumulate the gradient one pass of the whole batch gives."""
    model = copy.deepcopy(tiny.model)
    tok = tiny.tokenizer
    texts = [(" x = 3.", "#### 3"), (" Let x = 12 + 30 = 42.\nCheck: 42 - 30 = 12.", "#### 42"),
             (" x = 5 * 2 = 10.", "#### 10"), (" Let x = 7.\nx = 7 - 1 = 6.", "#### 6"),
             (" x = 9.", "#### 9")]  # fmt: skip
    batch = [
        (
            tok("Question: q\nAnswer:")["input_ids"],
            tok(a + "\n" + b, add_special_tokens=False)["input_ids"],
        )
        for a, b in texts
    ]
    n_tok = sum(len(c) for _, c in batch)
    grads, losses = [], []
    for size in (None, 2):
        model.zero_grad()
        losses.append(accumulate_grads(model, batch, n_tok, tok.pad_token_id, "off", size))
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    assert float((grads[0] - grads[1]).norm() / grads[0].norm()) < 1e-5
    assert float(grads[0].norm()) > 0


def test_group_advantages() -> None:
    from seal.improve.grpo import group_advantages

    adv = group_advantages([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5], [2.0]])
    assert adv[0] == pytest.approx([1.0, -1.0, -1.0, 1.0])
    assert adv[1] == [0.0, 0.0] and adv[2] == [0.0]  # no spread, no signal


def test_grpo_moves_policy_toward_rewarded_completions(tiny) -> None:
    from seal.improve.grpo import GRPOSettings, grpo_update

    torch.manual_seed(0)
    model = with_adapters(copy.deepcopy(tiny.model), r=8, alpha=16, dropout=0.0)
    tok = tiny.tokenizer
    prompt = "Question: What is seven plus six?\nAnswer:"
    good, bad = "Let x = 7 + 6 = 13.\n#### 13", "Let x = 7 + 6 = 14.\n#### 14"
    critic_before = {n: p.detach().clone() for n, p in model.named_parameters() if ".critic." in n}

    def margin() -> float:
        p = tok(prompt)["input_ids"]
        out = []
        for text in (good, bad):
            c = tok(" " + text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            ids = torch.tensor([p + c])
            with torch.no_grad():
                logp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
            out.append(sum(logp[len(p) - 1 + j, t].item() for j, t in enumerate(c)))
        return out[0] - out[1]

    before = margin()
    stats = grpo_update(
        model,
        tok,
        [prompt],
        [[good, bad, good, bad]],
        [[1.0, 0.0, 1.0, 0.0]],
        # float32 (CPU bf16 autocast, where the CPU has it, adds its own noise) and a step
        # size that stays on one side of the optimum: at 3e-3 the embedded model learns to
        # copy the answer line into "#### ..." and the bad completion's copy rises with it
        GRPOSettings(epochs=4, lr=1e-3, batch_size=2, bf16="off"),
        quiet=True,
    )
    assert stats["trained"] == 4 and stats["kl"] >= 0.0
    assert margin() > before + 0.5
    for n, p in model.named_parameters():
        if n in critic_before:
            assert torch.equal(p, critic_before[n]), n  # only the policy adapter moved


def test_selection_keeps_distinct_texts_only() -> None:
    cands = [
        Candidate("p", "x = 1 + 2 = 3.\n#### 3", "3", 0.9),
        Candidate("p", "x = 1 + 2 = 3.\n#### 3 ", "3", 0.8),  # the same text, spaced
        Candidate("p", "x  = 1 + 2 = 3.\n####  3", "3", 0.7),  # the same text, spaced
        Candidate("p", "x = 2 + 1 = 3.\n#### 3", "3", 0.6),  # another right path
    ]
    kept = select_top_k(cands, k=3, min_score=0.5)["p"]
    assert [c.score for c in kept] == [0.9, 0.6]


def test_rule_scores() -> None:
    from seal.improve.select import rule_scores

    rows = [
        {"prompt_id": "a", "answer": "3", "truth": 1, "score": 0.2},
        {"prompt_id": "a", "answer": "3", "truth": 1, "score": 0.9},
        {"prompt_id": "a", "answer": "4", "truth": 0, "score": 0.7},
    ]
    assert rule_scores(rows, "critic") == [0.2, 0.9, 0.7]
    assert rule_scores(rows, "oracle") == [1.0, 1.0, 0.0]
    assert rule_scores(rows, "majority") == [1.0, 1.0, 0.0]
    assert rule_scores(rows, "none") == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("accuracy", "levels"),
    [
        ({1: 1.0, 2: 0.97, 3: 0.95, 4: 0.93, 5: 0.5, 6: 0.1, 7: 0.0}, [5, 6]),
        ({1: 0.89, 2: 0.93, 3: 0.8, 4: 0.62, 5: 0.27, 6: 0.0}, [4, 5]),  # the hardest in band
        ({1: 1.0, 5: 0.95, 6: 0.6, 7: 0.2, 8: 0.02}, [6, 7]),  # L5 climbed: move up
        ({1: 1.0, 5: 0.5, 6: 0.03, 7: 0.0}, [5, 6]),  # just above the band, not at zero
        ({1: 1.0, 5: 0.5, 6: 0.0, 7: 0.0}, [5]),  # nothing to find at zero
        ({1: 0.99, 2: 0.98}, [2]),  # every level climbed: the hardest
        ({4: 0.0, 5: 0.0}, [4]),  # nothing solved: the lowest
    ],
)
def test_frontier_follows_validation(accuracy: dict[int, float], levels: list[int]) -> None:
    from seal.improve.frontier import choose_levels

    chosen = choose_levels(accuracy, low=0.05, high=0.9, width=2)
    assert chosen.levels == levels
    assert chosen.reason


def test_climbed_reads_the_sampled_levels_only() -> None:
    from seal.improve.frontier import climbed

    def val(**acc: float) -> dict:
        return {"by_level": {k[1:]: {"accuracy": v} for k, v in acc.items()}}

    before = val(L1=1.0, L5=0.9, L6=0.26, L7=0.07)
    assert climbed(before, val(L1=0.98, L5=0.88, L6=0.29, L7=0.05), [6])  # overall down
    assert not climbed(before, val(L1=1.0, L5=0.95, L6=0.26, L7=0.07), [6])  # not the frontier
    assert climbed(before, val(L1=1.0, L5=0.88, L6=0.26, L7=0.09), [6, 7])  # their mean
    assert not climbed(before, val(L1=1.0), [6])  # a level not measured is no gain
    assert not climbed({}, {}, [])  # tasks without levels: the overall accuracy decides


def test_kept_data_accumulates_and_replays(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from seal.improve.kept import kept_pairs, replay_pairs
    from seal.tasks import get_task

    dirs = []
    for i in (1, 2):
        d = tmp_path / f"iter-0{i}"
        d.mkdir()
        rows = [{"prompt": f"Q{i}\nAnswer:", "text": f" sol {i}"}]
        pq.write_table(pa.Table.from_pylist(rows), d / "selected.parquet")
        dirs.append(d)
    assert kept_pairs(dirs) == [("Q1\nAnswer:", " sol 1"), ("Q2\nAnswer:", " sol 2")]
    task = get_task("wordmath", levels=[1, 2])
    problems = task.problems("train", 5)
    replay = replay_pairs(task, problems, 4, seed=0)
    assert len(replay) == 4 and replay == replay_pairs(task, problems, 4, seed=0)
    by_prompt = {task.prompt(p): p for p in problems}
    assert all(c == " " + by_prompt[p].solution for p, c in replay)


def test_accept_guards_overall_and_each_level() -> None:
    from seal.improve.accept import accept

    def val(overall: float, **levels: float) -> dict:
        by_level = {k.removeprefix("L"): {"accuracy": v} for k, v in levels.items()}
        return {"metrics": {"accuracy": overall}, "by_level": by_level}

    base = val(0.70, L4=0.81, L5=0.54)
    assert accept(base, val(0.70, L4=0.85, L5=0.50), 0.01, 0.1) == (True, "")
    ok, why = accept(base, val(0.688, L4=0.85, L5=0.42), 0.02, 0.1)  # average fine, L5 traded
    assert not ok and "level 5" in why
    assert accept(base, val(0.688, L4=0.85, L5=0.42), 0.02, None)[0]  # per-level check off
    ok, why = accept(base, val(0.65, L4=0.81, L5=0.54), 0.01, 0.1)
    assert not ok and "validation" in why
    assert accept({"metrics": {"accuracy": 0.5}}, {"metrics": {"accuracy": 0.5}}, 0.0, 0.1)[0]


def test_a_nan_gradient_stops_training_with_a_one_line_error() -> None:
    w = torch.nn.Parameter(torch.ones(3))
    (w * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    clip_or_stop([w], "fine-tuning")  # finite: clipped to norm 1
    assert w.grad.norm().item() == pytest.approx(1.0, rel=1e-5)
    w.grad = None
    (w * torch.tensor([1.0, float("nan"), 3.0])).sum().backward()
    with pytest.raises(SealError, match="fine-tuning: the gradient is nan") as err:
        clip_or_stop([w], "fine-tuning")
    assert "\n" not in str(err.value) and "model.train_bf16=off" in str(err.value)
