from __future__ import annotations

import copy

import pytest
import torch

from seal.adapters import with_adapters
from seal.improve.finetune import sft
from seal.improve.select import Candidate, select_top_k

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
        GRPOSettings(epochs=4, lr=3e-3, batch_size=2),
        quiet=True,
    )
    assert stats["trained"] == 4 and stats["kl"] >= 0.0
    assert margin() > before + 0.5
    for n, p in model.named_parameters():
        if n in critic_before:
            assert torch.equal(p, critic_before[n]), n  # only the policy adapter moved
