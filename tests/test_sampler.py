"""Real sampling with the embedded tiny model."""

import pytest
import torch

from seal.errors import SealError
from seal.generation.base import SamplingParams
from seal.generation.hf import HFSampler, filter_logits
from seal.tasks import get_task

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def prompts() -> list[str]:
    task = get_task("wordmath", levels=[1, 3])
    return [task.prompt(p) for p in task.problems("validation", limit=3)]


def test_same_seed_same_output(tiny, prompts) -> None:
    # temperature 2: the embedded model is nearly deterministic on easy prompts at 1
    sampler = HFSampler(tiny.model, tiny.tokenizer, batch_size=8)
    params = SamplingParams(n=4, temperature=2.0, max_new_tokens=48, seed=3)
    a = sampler.sample(prompts, params, quiet=True)
    b = sampler.sample(prompts, params, quiet=True)
    c = sampler.sample(
        prompts, SamplingParams(n=4, temperature=2.0, max_new_tokens=48, seed=4), quiet=True
    )
    assert a == b
    assert a != c
    assert [len(row) for row in a] == [4] * len(prompts)
    # samples of one prompt differ from each other
    assert len({c.text for c in a[0]}) > 1


def test_greedy_matches_generate(tiny, prompts) -> None:
    sampler = HFSampler(tiny.model, tiny.tokenizer, batch_size=4)
    ours = sampler.sample(
        prompts, SamplingParams(n=1, temperature=0.0, max_new_tokens=200), quiet=True
    )
    for prompt, row in zip(prompts, ours, strict=True):
        enc = tiny.tokenizer(prompt, return_tensors="pt")
        ref = tiny.model.generate(**enc, max_new_tokens=200, do_sample=False)
        text = tiny.tokenizer.decode(ref[0, enc.input_ids.shape[1] :], skip_special_tokens=True)
        assert row[0].text == text


def test_greedy_independent_of_batch_size(tiny, prompts) -> None:
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=120)
    one = HFSampler(tiny.model, tiny.tokenizer, batch_size=1).sample(prompts, params, quiet=True)
    many = HFSampler(tiny.model, tiny.tokenizer, batch_size=16).sample(prompts, params, quiet=True)
    # batch 2: rows that finish are replaced by the next prompt mid-decode (cache merging)
    refilled = HFSampler(tiny.model, tiny.tokenizer, batch_size=2).sample(
        prompts, params, quiet=True
    )
    assert [r[0].text for r in one] == [r[0].text for r in many] == [r[0].text for r in refilled]


def _likelihood(tiny, prompt, comp) -> tuple[int, float]:
    """Token count and summed log-probability of ``comp`` after ``prompt``, from scratch."""
    p_ids = tiny.tokenizer(prompt)["input_ids"]
    c_ids = tiny.tokenizer(comp.text, add_special_tokens=False)["input_ids"]
    if comp.finish_reason == "eos":
        c_ids = c_ids + [tiny.tokenizer.eos_token_id]
    ids = torch.tensor([p_ids + c_ids])
    with torch.no_grad():
        logp = torch.log_softmax(tiny.model(ids).logits[0, :-1].float(), -1)
    target = ids[0, 1:]
    return len(c_ids), logp[torch.arange(len(target)), target][len(p_ids) - 1 :].sum().item()


def test_logprob_is_model_likelihood(tiny, prompts) -> None:
    # batch 4 for 6 prompts x 2 samples: rows join and leave the running batch, so this also
    # checks that merged caches give every row exactly its own context
    sampler = HFSampler(tiny.model, tiny.tokenizer, batch_size=4)
    out = sampler.sample(
        prompts, SamplingParams(n=2, temperature=1.0, max_new_tokens=40, seed=1), quiet=True
    )
    for prompt, row in zip(prompts, out, strict=True):
        for comp in row:
            n, ref = _likelihood(tiny, prompt, comp)
            assert comp.num_tokens == n
            assert comp.logprob == pytest.approx(ref, abs=1e-3)


def test_stop_strings_and_length(tiny, prompts) -> None:
    sampler = HFSampler(tiny.model, tiny.tokenizer, batch_size=4)
    stopped = sampler.sample(
        prompts, SamplingParams(n=2, temperature=0.0, stop=("\n",), max_new_tokens=100), quiet=True
    )
    for row in stopped:
        for c in row:
            assert "\n" not in c.text and c.finish_reason == "stop"
    short = sampler.sample(
        prompts, SamplingParams(n=1, temperature=0.7, max_new_tokens=5), quiet=True
    )
    assert all(c[0].finish_reason == "length" and c[0].num_tokens == 5 for c in short)


def test_trained_model_solves_easy_problems(tiny) -> None:
    task = get_task("wordmath", levels=[1])
    problems = task.problems("test", limit=20)
    sampler = HFSampler(tiny.model, tiny.tokenizer, batch_size=20)
    out = sampler.sample(
        [task.prompt(p) for p in problems], SamplingParams(temperature=0.0), quiet=True
    )
    correct = sum(task.verify(p, row[0].text) for p, row in zip(problems, out, strict=True))
    assert correct >= 16
    assert all(row[0].finish_reason == "eos" for row in out)


def test_filters_keep_best_token() -> None:
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0]])
    assert torch.isfinite(filter_logits(logits, top_k=2, top_p=1.0)).tolist() == [
        [False, True, True, False]
    ]
    assert torch.isfinite(filter_logits(logits, top_k=0, top_p=0.01)).tolist() == [
        [False, True, False, False]
    ]


def test_bad_requests(tiny) -> None:
    sampler = HFSampler(tiny.model, tiny.tokenizer)
    with pytest.raises(SealError, match="at least 1"):
        sampler.sample(["x"], SamplingParams(n=0), quiet=True)
    with pytest.raises(SealError, match="no tokens"):
        sampler.sample([""], SamplingParams(), quiet=True)
    with pytest.raises(SealError, match="context"):
        sampler.sample(["1 " * 600], SamplingParams(max_new_tokens=4), quiet=True)
