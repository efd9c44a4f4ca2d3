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
