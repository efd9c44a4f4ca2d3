"""Answer-time search on the tiny model: every method runs, reports its budget, degrades
cleanly; ``seal solve`` shows the tree."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from seal.adapters import save_adapter, with_adapters
from seal.config import SealConfig, dump_config
from seal.critic.model import Critic
from seal.errors import SealError
from seal.generation.hf import HFSampler
from seal.search import Searcher, SearchSettings, render_tree
from seal.tasks import get_task

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def parts(tiny):
    model = with_adapters(copy.deepcopy(tiny.model), r=8, alpha=16, dropout=0.0)
    return model, Critic(model, tiny.tokenizer), HFSampler(model, tiny.tokenizer, batch_size=32)


@pytest.fixture(scope="module")
def problems():
    return get_task("wordmath", levels=[1]).problems("test", limit=2)


def test_greedy_search_is_greedy_decoding(parts, problems) -> None:
    model, critic, sampler = parts
    task = get_task("wordmath")
    res = Searcher(task, sampler, None, SearchSettings(method="greedy")).run(problems)
    assert all(r.tokens > 0 and r.critic_calls == 0 for r in res)
    assert res[0].answer == task.extract(res[0].text)


@pytest.mark.parametrize("method", ["majority", "best-of-n", "tot", "tot-dfs"])
def test_every_method_answers_and_reports_budget(parts, problems, method) -> None:
    model, critic, sampler = parts
    settings = SearchSettings(method=method, n=3, branch=2, width=2, depth=10, expansions=12)
    res = Searcher(get_task("wordmath"), sampler, critic, settings).run(problems)
    assert len(res) == 2
    for r in res:
        assert r.tokens > 0 and r.seconds >= 0
        if method != "majority":
            assert r.critic_calls > 0
    if method.startswith("tot"):
        tree = render_tree(res[0].tree)
        assert "[" in tree and "]" in tree
        if res[0].found:
            assert "*" in tree  # the chosen path is marked
            assert res[0].text.splitlines()[-1].startswith("####")


def test_depth_limit_gives_no_solution_not_a_crash(parts, problems) -> None:
    model, critic, sampler = parts
    res = Searcher(
        get_task("wordmath"), sampler, critic, SearchSettings(method="tot", depth=1)
    ).run(problems)
    assert all(not r.found and r.answer is None for r in res)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (SearchSettings(branch=0), "branch must be at least 1"),
        (SearchSettings(width=0), "width must be at least 1"),
    ],
)
def test_bad_settings(parts, settings, message) -> None:
    _, critic, sampler = parts
    with pytest.raises(SealError, match=message):
        Searcher(get_task("wordmath"), sampler, critic, settings)


def test_search_needs_a_critic(parts) -> None:
    _, _, sampler = parts
    with pytest.raises(SealError, match="needs a critic"):
        Searcher(get_task("wordmath"), sampler, None, SearchSettings(method="tot"))


def _critic_dir(tiny, tmp_path: Path) -> Path:
    model = with_adapters(copy.deepcopy(tiny.model), r=16, alpha=32, dropout=0.1)
    d = tmp_path / "critic"
    save_adapter(model, "critic", d)
    (d / "config.yaml").write_text(dump_config(SealConfig()))
    (d / "critic.json").write_text(json.dumps({"model": "tiny", "task": "wordmath"}))
    return d


def test_seal_solve_shows_tree_and_budget(seal_cli, tiny, tmp_path: Path) -> None:
    critic = _critic_dir(tiny, tmp_path)
    question = "Tom has 5 apples. He buys 3 apples. How many apples does Tom have now?"
    code, out, err = seal_cli(
        "solve",
        question,
        "--search",
        "tot",
        "--critic",
        str(critic),
        "--depth",
        "10",
        "--branch",
        "2",
    )
    assert code == 0, err
    assert "answer:" in out and "budget:" in out and "critic calls" in out
    assert "[" in out  # tree lines with values
    code, _, err = seal_cli("solve", question, "--search", "tot")
    assert code == 2 and "needs --critic" in err
    code, _, err = seal_cli(
        "solve", question, "--search", "tot", "--critic", str(critic), "--branch", "0"
    )
    assert code == 2 and "branch" in err


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("Tom has 5 apples. " * 150 + "How many now?", "leaves no room to generate"),
        ("   ", "problem text is empty"),
    ],
)
def test_solve_a_problem_the_model_cannot_take(
    seal_cli, one_line_error, tiny, tmp_path, question, needle
):
    """Longer than the model's context, or empty: one line naming the fix, for every
    search method, before anything is generated."""
    critic = _critic_dir(tiny, tmp_path)
    for method in ("greedy", "tot"):
        with_critic = ["--critic", str(critic)] if method == "tot" else []
        code, _, err = seal_cli("solve", question, "--search", method, *with_critic)
        one_line_error(code, err, needle)
    code, _, err = seal_cli("solve", "Q?", "--search", "greedy", "--critic", str(critic))
    one_line_error(code, err, "--critic", "with --search greedy", "unused")


def test_solve_takes_its_search_from_the_config(seal_cli, tiny) -> None:
    """``--set search.method=greedy`` (or a YAML file) is the search when --search is not
    typed: greedy needs no critic, ToT (the default) would refuse without one."""
    question = "Tom has 5 apples. He buys 3 apples. How many apples does Tom have now?"
    code, out, err = seal_cli("solve", question, "--set", "search.method=greedy")
    assert code == 0, err
    assert "answer: 8" in out and "0 critic calls" in out
    code, _, err = seal_cli("solve", question, "--set", "search.method=greedy", "--search", "tot")
    assert code == 2 and "needs --critic" in err  # the flag wins over --set


def test_seal_eval_with_search(seal_cli, tiny, tmp_path: Path) -> None:
    critic = _critic_dir(tiny, tmp_path)
    code, _, err = seal_cli(
        "eval",
        "--model",
        "tiny",
        "--task",
        "wordmath",
        "--levels",
        "1",
        "--limit",
        "2",
        "--search",
        "best-of-n",
        "--critic",
        str(critic),
        "--set",
        "search.n=2",
        "--output",
        str(tmp_path / "s.json"),
        "--set",
        f"runs_dir={tmp_path / 'runs'}",
    )
    assert code == 0, err
    result = json.loads((tmp_path / "s.json").read_text())
    assert result["search"] == "best-of-n" and result["n"] == 2
    assert result["budget"]["tokens_per_problem"] > 0
    assert result["budget"]["critic_calls_per_problem"] == 2


def test_solve_with_a_critic_from_a_run(seal_cli, uninterrupted) -> None:
    _, run, _ = uninterrupted
    for critic in (run / "critic-0", run / "iter-01" / "critic"):
        code, out, err = seal_cli(
            "solve",
            "Tom has 5 apples. He buys 3 apples. How many apples does Tom have now?",
            "--search",
            "best-of-n",
            "--critic",
            str(critic),
            "--set",
            "search.n=2",
        )
        assert code == 0, err
        assert "answer:" in out
    code, _, err = seal_cli("solve", "x", "--search", "tot", "--critic", str(run / "base"))
    assert code == 2 and "is not a saved critic" in err
