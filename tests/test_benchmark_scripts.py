"""Benchmark scripts that read finished runs: their tables from small fabricated runs, and a
one-line error for a directory that is not one."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from benchmarks.level_profile import (
    CAUSES,
    cause_row,
    false_line_causes,
    first_slip,
    lines_by_step,
    step_lines,
    step_table,
)

from seal.tasks.wordmath import generate

ROOT = Path(__file__).resolve().parents[1]


def _levels(*acc: float) -> dict:
    return {str(i + 1): {"n": 10, "accuracy": a} for i, a in enumerate(acc)}


def _run(d: Path, final: tuple[float, float], picks: list[list[int]], accepted: list[bool]) -> Path:
    d.mkdir()
    base = {"metrics": {"accuracy": 0.5}, "by_level": _levels(0.8, 0.2)}
    iters = []
    for n, (truths, ok) in enumerate(zip(picks, accepted, strict=True), start=1):
        (d / f"iter-{n:02d}").mkdir()
        pq.write_table(pa.Table.from_pylist([{"truth": t} for t in truths]),
                       d / f"iter-{n:02d}" / "selected.parquet")  # fmt: skip
        iters.append({"iteration": n, "accepted": ok})
    summary = {
        "base": base,
        "final": {"metrics": {"accuracy": sum(final) / 2}, "by_level": _levels(*final)},
        "iterations": iters,
    }
    (d / "summary.json").write_text(json.dumps(summary))
    return d


def _compare(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "compare_runs.py"), *args, "--no-append"]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_compare_runs_tabulates_shared_base_once(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", (0.9, 0.3), [[1, 1, 0, 1], [1]], [True, False])
    b = _run(tmp_path / "b", (0.7, 0.1), [[]], [True])
    summary = json.loads((a / "summary.json").read_text())  # per-problem outcomes, level 2
    summary["base"]["problems"] = [{"id": str(i), "level": 2, "correct": int(i < 2)}
                                   for i in range(10)]  # fmt: skip
    summary["final"]["problems"] = [{"id": str(i), "level": 2, "correct": int(i < 3)}
                                    for i in range(10)]  # fmt: skip
    (a / "summary.json").write_text(json.dumps(summary))
    out = _compare(f"{a}=critic", f"{b}=none")
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("| ")]
    assert lines[2] == "| base | - | 80.0 | 20.0 | 50.0 | - |"  # shared: one base row
    assert lines[3] == (
        "| critic | 4 (0.75) / 1 (1.00) rolled back | 90.0 | 30.0 | 60.0 "
        "| +0/-0 (1), +1/-0 (1), +1/-0 (1) |"
    )
    assert lines[4] == "| none | 0 | 70.0 | 10.0 | 40.0 | - |"  # no outcomes stored


def test_compare_runs_names_a_missing_run(tmp_path: Path) -> None:
    out = _compare(str(tmp_path / "nope"))
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "summary.json does not exist" in out.stderr


def test_ceiling_recipe_fills_the_loops_settings_and_rejects_typos() -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.ceiling import recipe

    from seal.config import RunConfig

    run = RunConfig()
    assert recipe("lora", run, "1-5") == {"kind": "lora", "lr": 5e-4, "epochs": run.sft_epochs,
                                          "r": 16, "replay": run.replay, "easy": "1-5"}  # fmt: skip
    assert recipe("full", run, "1-5")["lr"] == 1e-4  # each mode's own default learning rate
    assert recipe("full:lr=0.0001:epochs=3:replay=3:easy=4-5", run, "1-5") == {
        "kind": "full", "lr": 1e-4, "epochs": 3, "r": 16, "replay": 3.0, "easy": "4-5"}  # fmt: skip
    for bad in ("qlora", "lora:lr", "lora:steps=3", "full:replay=lots", "full:easy=four"):
        try:
            recipe(bad, run, "1-5")
        except SystemExit as err:
            assert bad in str(err)
        else:
            raise AssertionError(f"{bad!r} accepted")


def test_selection_signals_rules_with_and_without_the_coverage_check() -> None:
    from benchmarks.selection_signals import rule_rows

    q = "Raj has 36 books. He sells 6 books. How many are left?"
    right = " Raj has 36 books: x = 36.\nHe sells 6 books: x = 36 - 6 = 30.\n#### 30"
    skipped = " Raj has 36 books: x = 36 + 0 = 36.\n#### 36"  # "sells 6" never applied
    again = skipped.replace("+ 0", "* 1")
    rows = [
        {"prompt_id": "p", "level": 5, "question": q, "prompt": q, "text": t, "answer": a,
         "truth": ok, "p_good": 0.95, "entropy": 0.2, "score": 0.95}
        for t, a, ok in [(right, "30", 1), (skipped, "36", 0), (again, "36", 0)]
    ]  # fmt: skip
    table = {line[0]: line[1] for line in rule_rows(rows, [5], k=4, min_score=0.8)}
    assert table["critic p(good), vote weight 0"] == "1/3 (0.33)"  # the critic alone: all 3
    assert table["critic p(good) + calculator, vote weight 0"] == "1/3 (0.33)"  # all hold
    assert table["critic p(good) + calculator + coverage, vote weight 0"] == "1/1 (1.00)"
    assert table["critic p(good) + calculator + counted coverage, vote weight 0"] == "1/1 (1.00)"
    assert table["oracle"] == "1/1 (1.00)"
    # a run whose scores already have both checks in them: only the variant with both
    rows_now = [{**x, "coverage": 1, "arithmetic": 1} for x in rows]
    names = [line[0] for line in rule_rows(rows_now, [5], 4, 0.8, calculated=True)]
    assert not any(n.endswith("+ calculator, vote weight 0") for n in names)


def test_compare_runs_pairs_an_old_run_with_given_base_outcomes(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", (0.9, 0.3), [[1]], [True])  # made before outcomes were stored
    outcomes = {
        "by_level": _levels(0.8, 0.2),
        "problems": [{"id": str(i), "level": 2, "correct": int(i < 2)} for i in range(10)],
    }
    summary = json.loads((a / "summary.json").read_text())
    summary["final"]["problems"] = [{"id": str(i), "level": 2, "correct": int(i < 3)}
                                    for i in range(10)]  # fmt: skip
    (a / "summary.json").write_text(json.dumps(summary))
    given = tmp_path / "base.json"
    given.write_text(json.dumps(outcomes))
    out = _compare(str(a), "--base-outcomes", str(given))
    assert out.returncode == 0, out.stderr
    assert "| +0/-0 (1), +1/-0 (1), +1/-0 (1) |" in out.stdout
    outcomes["by_level"] = _levels(0.7, 0.2)  # another model's evaluation: refused
    given.write_text(json.dumps(outcomes))
    out = _compare(str(a), "--base-outcomes", str(given))
    assert out.returncode != 0 and "is not" in out.stderr and out.stderr.count("\n") == 1


def _kept(variant: str, seed: int, final: tuple[float, float], wins: int) -> dict:
    """A run as `efficacy.py --keep` appends it: levels 1-2, 10 problems of level 2 paired."""
    probs = lambda right: [{"id": str(i), "level": 2, "correct": int(i < right)}  # noqa: E731
                           for i in range(10)]  # fmt: skip
    return {
        "variant": variant,
        "seed": seed,
        "base": {
            "metrics": {"accuracy": 0.5},
            "by_level": _levels(0.8, 0.2),
            "problems": probs(2),
        },  # fmt: skip
        "final": {
            "metrics": {"accuracy": sum(final) / 2},
            "by_level": _levels(*final),
            "n": 20,
            "problems": probs(2 + wins),
        },  # fmt: skip
        "iterations": [],
        "wall_s": 120.0,
        "peak_gb": 2.0,
        "shared": variant != "critic",
        "machine": "a GPU box",
        "command": "python benchmarks/efficacy.py --parallel 3",
    }


def test_efficacy_tabulates_kept_runs_with_their_machine(tmp_path: Path) -> None:
    kept = tmp_path / "runs.jsonl"
    runs = [_kept("critic", 0, (0.8, 0.4), 2), _kept("oracle", 0, (0.8, 0.6), 4),
            _kept("critic", 1, (0.8, 0.3), 1), _kept("oracle", 1, (0.8, 0.3), 1)]  # fmt: skip
    runs[3]["wall_s"] = None  # a run kept untimed (paused by hand): its accuracy still counts
    kept.write_text("".join(json.dumps(r) + "\n" for r in runs[:2]))
    later = tmp_path / "seed1.jsonl"  # seed 1 kept in another session's file: one table
    later.write_text("".join(json.dumps(r) + "\n" for r in runs[2:]))
    cmd = [sys.executable, str(ROOT / "benchmarks" / "efficacy.py"), "--from", str(kept),
           "--from", str(later), "--no-append"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "- machine: a GPU box" in out.stdout  # where the runs ran, not this machine
    rows = {ln.split(" | ")[0]: ln.split(" | ") for ln in out.stdout.splitlines()
            if ln.startswith("| critic") or ln.startswith("| oracle")}  # fmt: skip
    critic, oracle = rows["| critic (2 seeds)"], rows["| oracle (2 seeds)"]
    assert critic[2] == "20.0 → 35.0"  # median of level 2 over the seeds: 40 and 30
    assert critic[4] == "+2/-0 (0.5); +1/-0 (1)"  # paired won / lost per seed
    assert oracle[6] == "1.00 [1.00, 1.00]" and critic[6] == "0.75 [0.50, 1.00]"
    # pooled over the seeds: (2 + 1) problems won over the oracle's (4 + 1), with an interval
    assert oracle[7] == "-" and critic[7].startswith("0.60 [")
    lo, hi = (float(x) for x in critic[7][6:-1].split(", "))
    assert 0 <= lo < 0.6 < hi <= 1.0
    assert (
        critic[9] == "2.0 [2.0, 2.0]" and oracle[9] == "2.0 (1 of 2 timed) (after shared bootstrap)"
    )

    kept.write_text("not json\n")
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert (
        out.returncode == 1 and out.stderr.strip() == f"error: {kept}:1 is not a run kept by --keep"
    )


def test_efficacy_adopts_a_run_finished_by_resume(tmp_path: Path) -> None:
    """A run killed with the session and finished by `seal run --resume` joins the table."""
    import yaml
    from benchmarks.efficacy import adopt, variant_of

    from seal.config import SealConfig

    def cfg(**run: object) -> dict:
        data = SealConfig().model_dump(mode="json")
        data["run"].update(run)
        return data

    assert variant_of(cfg()) == "critic"
    assert variant_of(cfg(select="none", search="tot")) == "none+tot"
    assert variant_of(cfg(replay_only=True)) == "replay"
    assert variant_of(cfg(update="ppo")) == "critic+ppo"
    with pytest.raises(SystemExit, match="no variant"):
        variant_of(cfg(select="majority", search="tot"))

    run, keep = tmp_path / "run", tmp_path / "kept.jsonl"
    run.mkdir()
    with pytest.raises(SystemExit, match="finished `seal run` directory"):
        adopt(run, keep)
    (run / "config.yaml").write_text(yaml.safe_dump(cfg(select="none", seed=2)))
    (run / "summary.json").write_text('{"final": ')  # cut short: one line, nothing kept
    with pytest.raises(SystemExit, match="not what `seal run` writes"):
        adopt(run, keep)
    assert not keep.exists()
    summary = _kept("x", 9, (0.8, 0.4), 2)
    summary["peak_rss_mb"] = 2048.0
    (run / "summary.json").write_text(json.dumps(summary))
    adopt(run, keep)
    row = json.loads(keep.read_text())
    assert (row["variant"], row["seed"], row["wall_s"], row["peak_gb"]) == ("none", 2, None, 2.0)
    cmd = [sys.executable, str(ROOT / "benchmarks" / "efficacy.py"), "--from", str(keep),
           "--no-append"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and "| none (1 seed) | 80.0 → 80.0 | 20.0 → 40.0 |" in out.stdout
    command = next(ln for ln in out.stdout.splitlines() if ln.startswith("- command:"))
    assert f"seal run in {run}" in command and command.count("`") == 2  # one code span


def test_efficacy_keeps_a_run_without_each_rounds_per_problem_validation() -> None:
    from benchmarks.efficacy import kept_row

    rows = [{"id": f"p{i}", "level": 1, "correct": i % 2} for i in range(50)]
    val = {"metrics": {"accuracy": 0.5}, "problems": rows}
    rounds = [{"accepted": True, "validation": val}, {"accepted": False}]
    summary = {"base": {"problems": rows}, "final": {"problems": rows}, "base_validation": val,
               "iterations": rounds}  # fmt: skip
    kept = kept_row(summary)
    assert kept["base"]["problems"] == kept["final"]["problems"] == rows  # the tables need them
    assert "problems" not in kept["base_validation"]
    assert kept["iterations"][0] == {"accepted": True, "validation": {"metrics": val["metrics"]}}
    assert kept["iterations"][1] == {"accepted": False}
    assert summary["iterations"][0]["validation"]["problems"] == rows  # the input is untouched
    assert len(json.dumps(kept)) < len(json.dumps(summary)) / 1.5


def test_pooled_share_needs_per_problem_outcomes_and_an_oracle_gain() -> None:
    from benchmarks.efficacy import _count, pooled_share

    critic, oracle = _kept("critic", 0, (0.8, 0.4), 2), _kept("oracle", 0, (0.8, 0.6), 4)
    share, lo, hi = pooled_share([critic], [oracle], ["1", "2"])
    assert share == 0.5 and lo <= share <= hi
    assert pooled_share([critic], [_kept("oracle", 1, (0.8, 0.6), 4)], ["2"]) is None  # no seed
    assert pooled_share([critic], [_kept("oracle", 0, (0.8, 0.2), 0)], ["2"]) is None  # no gain
    assert _count([critic, critic, oracle]) == "3 runs, 1 seed"  # one seed drawn three times
    del critic["final"]["problems"]  # a run kept before outcomes were stored
    assert pooled_share([critic], [oracle], ["2"]) is None


def test_efficacy_names_bad_arguments_before_running_anything(tmp_path: Path) -> None:
    script = str(ROOT / "benchmarks" / "efficacy.py")
    for args, message in [
        (["--seeds", "0,x"], "error: --seeds '0,x': give whole numbers, e.g. 0,1,2"),
        (["--keep", str(tmp_path / "no" / "runs.jsonl")], "its folder does not exist"),
        (["--variants", "critc"], "error: unknown variant 'critc'"),
    ]:
        out = subprocess.run([sys.executable, script, *args, "--no-append"], capture_output=True,
                             text=True, cwd=ROOT, timeout=120)  # fmt: skip
        assert out.returncode == 1 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert message in out.stderr


def test_level_profile_finds_where_a_solution_first_leaves_the_reference() -> None:
    p = generate(3, random.Random(5))  # Dan 43; Ruth = 43 - 13 = 30; Amy = 30 * 4 = 120; ...
    ops, lines = p.meta["ops"], p.solution.splitlines()

    def edit(i: int, line: str) -> str:
        return "\n".join([*lines[:i], line, *lines[i + 1 :]])

    assert first_slip(p.solution, p.solution, ops) is None
    assert first_slip(edit(3, lines[3].replace("= 120", "= 121")), p.solution, ops) == (
        ops[1],
        "arithmetic",
    )
    assert first_slip(edit(3, lines[3].replace("30 * 4 = 120", "31 * 4 = 124")), p.solution, ops) \
        == (ops[1], "operand")  # fmt: skip
    assert first_slip(edit(3, lines[2]), p.solution, ops) == (ops[1], "sentence")
    assert first_slip(edit(len(lines) - 1, "#### 1"), p.solution, ops) == ("answer", "answer")
    assert first_slip("", p.solution, ops) == ("start", "sentence")
    assert step_lines(p.solution) == len(ops) == 3  # a level-3 reference: three step lines
    assert step_lines("\n".join([*lines[:3], *lines[4:]])) == 2  # a sentence skipped


def test_level_profile_counts_step_lines_by_depth_and_number_size() -> None:
    p = generate(3, random.Random(5))  # Dan 43; Ruth = 43 - 13 = 30; Amy = 30 * 4 = 120; ...
    lines = p.solution.splitlines()
    slipped = "\n".join([*lines[:3], lines[3].replace("= 120", "= 121"), *lines[4:]])
    counts = lines_by_step([p.solution, slipped])
    assert counts[1, 2, True] == 2  # 43 - 13 = 30, right in both
    assert counts[2, 2, True] == 1 and counts[2, 2, False] == 1  # 30 * 4: right, then 121
    assert sum(n for (step, _, _), n in counts.items() if step == 3) == 2
    assert all(step >= 1 for step, _, _ in counts)  # intro and start value are no steps
    headers, rows = step_table(counts)
    assert headers[0] == "step" and rows[1][0] == 2
    two = headers.index("2-digit operands: right % (lines)")
    assert rows[1][two] == "50.0 (2)"


def test_level_profile_sorts_false_lines_by_a_value_no_story_holds_or_a_slip() -> None:
    rng = random.Random(0)
    references = [generate(lv, rng).solution for lv in range(1, 9) for _ in range(60)]
    clean = false_line_causes(references)
    assert clean["lines"] > 1000 and sum(clean[c] for c in CAUSES) == 0  # no story breaks them
    p = generate(3, random.Random(5))  # Dan 43; Ruth = 43 - 13 = 30; Amy = 30 * 4 = 120; ...
    lines = p.solution.splitlines()

    def edit(old: str, new: str) -> str:
        return "\n".join([*lines[:3], lines[3].replace(old, new), *lines[4:]])

    edits = [("= 120", "= 121"), ("30 * 4", "30 / 4"), ("30 * 4", "50 * 4"), ("30 * 4", "30 - 40")]
    counts = false_line_causes([edit(*e) for e in edits])
    no_whole, negative, over, slip, check_after, check_slip = CAUSES
    assert (counts[slip], counts[no_whole], counts[over], counts[negative]) == (1, 1, 1, 1)
    assert counts[check_after] == counts[check_slip] == 0  # the checks undo the last step
    bad_check = "\n".join([*lines[:-2], "Check: 127 - 7 = 121.", lines[-1]])
    both = "\n".join([*lines[:3], lines[3].replace("= 120", "= 121"), *lines[4:-2],
                      "Check: 127 - 7 = 121.", lines[-1]])  # fmt: skip
    more = false_line_causes([bad_check, both])
    assert (more[check_slip], more[check_after], more[slip]) == (1, 1, 1)
    counts.update(more)
    row = cause_row(3, counts)
    lines_n = counts["lines"]
    assert row[:3] == [3, lines_n, 7]
    assert row[-2] == f"{100 * (lines_n - 7) / lines_n:.2f}"  # every false line counts
    assert row[-1] == f"{100 * (lines_n - 3) / lines_n:.2f}"  # only the slips count


def test_gpu_sweep_refuses_a_malformed_setting_before_starting_anything(tmp_path) -> None:
    import subprocess

    script = str(ROOT / "benchmarks" / "gpu_sweep.sh")
    for bad, needle in [("r10", "not NAME=SETTINGS"), ("a b=run.replay=10", "setting name")]:
        env = {"PATH": "/usr/bin:/bin", "KEEP": str(tmp_path / "keep")}
        out = subprocess.run(["bash", script, "ok=", bad], capture_output=True, text=True, env=env)
        assert out.returncode == 2 and needle in out.stdout
        assert not (tmp_path / "keep").exists()  # nothing started, nothing written


def test_benchmark_level_options_exit_in_one_line() -> None:
    from benchmarks.common import level_list

    assert level_list("1-3,5") == [1, 2, 3, 5]
    for text, message in [("4,x", "expects levels such as"), ("5-9", "levels are 1-8")]:
        try:
            level_list(text, "--levels")
        except SystemExit as err:
            assert str(err).startswith("error: --levels") and message in str(err)
        else:
            raise AssertionError(f"{text!r} accepted")


def test_efficacy_shares_a_bootstrap_with_the_replay_control(tmp_path: Path) -> None:
    """A variant's `--set run.KEY=V` flags reach the shared run's config like `--select`."""
    from benchmarks.efficacy import share_bootstrap

    from seal.config import SealConfig, dump_config, load_config

    first = tmp_path / "critic"
    for d in ("critic-0", "base", "base-test"):
        (first / d).mkdir(parents=True)
        (first / d / "x.json").write_text("{}")
    (first / "config.yaml").write_text(dump_config(SealConfig()))
    stages = {"critic": {}, "base": {}, "base-test": {}, "iter-01": {}}
    (first / "manifest.json").write_text(json.dumps({"stages": stages, "owner": 1}))
    share_bootstrap(first, tmp_path / "replay", "replay")
    run = load_config(tmp_path / "replay" / "config.yaml").run
    assert run.replay_only is True and run.select == "critic"
    manifest = json.loads((tmp_path / "replay" / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"critic", "base", "base-test"} and "owner" not in manifest
    assert (tmp_path / "replay" / "critic-0" / "x.json").is_file()


def test_calculator_gold_counts_false_vetoes_and_shows_the_lines(tmp_path: Path) -> None:
    data = tmp_path / "gold.jsonl"
    rows = [
        ("Tom has 3 apples and buys 4 more. How many?", "3 + 4 = <<3+4=7>>7\n#### 7"),
        ("Ann has $32 and spends $20. How much is left?", "$32 - $20 = $300\n#### 12"),
        ("Bo runs 2 miles a day for 5 days and 1 more. How far?", "2 * 5 = 10\n#### 10"),
        ("Cy is x. Dee is 30 more; together 110. Who?", "x+x+30=110\nx = 40\n#### 40"),
    ]
    data.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in rows))
    script = str(ROOT / "benchmarks" / "calculator_gold.py")
    cmd = [sys.executable, script, "--data", str(data), "--wordmath", "5", "--no-append"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    table = {ln.split(" | ")[0]: ln.split(" | ") for ln in out.stdout.splitlines()}
    calc = table["| calculator (`critic.calculator`)"]
    assert calc[1] == "1 / 4 (25.0%)"  # the annotator's slip; algebra is not read
    assert calc[2].startswith("0 / ")  # references hold
    assert table["| coverage `any`"][1] == "1 / 4 (25.0%)"  # "1 more" never used
    assert "- `$32 - $20 = $300`" in out.stdout
    bad = subprocess.run([sys.executable, script, "--data", str(tmp_path / "none.jsonl")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: --data")


def test_trl_critic_reward_is_the_verdict_vetoed_by_the_checks() -> None:
    from benchmarks.trl_grpo import critic_reward

    from seal.critic.model import Verdict
    from seal.tasks.wordmath import WordMath

    class Judge:  # the learned verdict: every solution looks good
        def score(self, questions, texts, quiet=False):
            return [Verdict(0.9, 0.3) for _ in texts]

    q = "Raj has 36 books. He sells 6 books. How many are left?"
    right = "x = 36 - 6 = 30\n#### 30"
    slip = "x = 36 - 6 = 31\n#### 31"  # a false equation
    skipped = "x = 36 + 0 = 36\n#### 36"  # "sells 6" never used
    reward = critic_reward(Judge(), WordMath())
    assert reward([q] * 3, [right, slip, skipped], [q] * 3) == [0.9, 0.0, 0.0]


def test_trl_grpo_learning_rate_follows_seals_ratio_between_lora_and_full() -> None:
    """TRL trains what seal's loop would (the whole embedded model by default) at seal's
    GRPO rate, scaled for full fine-tuning as seal scales its SFT rate."""
    from benchmarks.trl_grpo import grpo_lr

    from seal.config import RunConfig
    from seal.improve.policy import FULL_LR, LORA_LR

    lora = RunConfig().ppo_lr
    assert grpo_lr(lora, "lora") == lora
    assert grpo_lr(lora, "full") == pytest.approx(lora * FULL_LR / LORA_LR)
    assert grpo_lr(lora, "full") < lora


def test_trl_grpo_refuses_bad_arguments_in_one_line_before_loading_anything() -> None:
    script = str(ROOT / "benchmarks" / "trl_grpo.py")
    cases = [(["--lr", "0"], "--lr"), (["--reward", "critic"], "--reward critic needs --critic")]
    for bad, needle in cases:
        out = subprocess.run([sys.executable, script, *bad, "--no-append"],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)  # fmt: skip
        assert out.returncode == 1 and out.stderr.strip().startswith(f"error: {needle}")
        assert len(out.stderr.strip().splitlines()) == 1
    # without TRL installed (the test extra does not carry it): one line naming the extra
    blocked = (f"import sys, runpy; sys.modules['trl'] = None; sys.argv = [{script!r}, "
               "'--no-append']; runpy.run_path(sys.argv[0], run_name='__main__')")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)  # fmt: skip
    assert out.returncode == 1 and out.stderr.strip() == (
        "error: this benchmark needs TRL: pip install -e '.[baselines]'"
    )


def test_gpu_pretrain_refuses_a_malformed_variant_before_starting_anything(tmp_path) -> None:
    script = str(ROOT / "benchmarks" / "gpu_pretrain.sh")
    for bad, needle in [("s0", "not NAME=SETTINGS"), ("a.b=pretrain.steps=3", "variant name")]:
        env = {"PATH": "/usr/bin:/bin", "OUT": str(tmp_path / "out")}
        out = subprocess.run(["bash", script, bad], capture_output=True, text=True, env=env)
        assert out.returncode == 2 and needle in out.stdout
        assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_gpu_pretrain_trains_profiles_and_returns_the_model_closest_to_the_band(tmp_path) -> None:
    """The script end to end on the CPU (DEVICE=cpu): each recipe trained and profiled, the
    logs packed, and the kept model's split archive reassembles into a loadable model."""
    import tarfile

    from transformers import AutoModelForCausalLM

    small = ("pretrain.steps=2 pretrain.batch_size=2 pretrain.hidden_size=16 pretrain.layers=1 "
             "pretrain.heads=2 pretrain.intermediate_size=32 pretrain.tokenizer_corpus=200 "
             "pretrain.threads=1")  # fmt: skip
    out = tmp_path / "out"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "OUT": str(out),
           "DEVICE": "cpu", "PROBLEMS": "1", "KEEP": "1", "PYTHON": sys.executable,
           "HOME": str(tmp_path)}  # fmt: skip
    script = str(ROOT / "benchmarks" / "gpu_pretrain.sh")
    run = subprocess.run(["bash", script, f"a={small}", f"b={small} pretrain.stretch_share=0"],
                         capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for name in ("a", "b"):
        assert f"== {name}:" in run.stdout
    assert run.stdout.count("| 8 | 1 |") == 2  # a level-8 row in each profile
    with tarfile.open(out / "runs.tgz") as tar:
        names = tar.getnames()
    assert any(n.endswith("a.profile.txt") for n in names)
    assert not any(n.endswith(".safetensors") for n in names)
    parts = sorted(out.glob("*.model.tgz.part*"))
    assert parts and len({p.name.split(".")[0] for p in parts}) == 1  # KEEP=1: one model
    (tmp_path / "model.tgz").write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(tmp_path / "model.tgz") as tar:
        tar.extractall(tmp_path / "back", filter="data")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "back" / parts[0].name.split(".")[0])
    assert model.config.num_hidden_layers == 1


def test_level_profile_answers_a_bad_device_or_batch_in_one_line() -> None:
    script = str(ROOT / "benchmarks" / "level_profile.py")
    for flags, needle in [(["--device", "bogus"], "unknown device"), (["--batch", "0"], "batch")]:
        out = subprocess.run([sys.executable, script, *flags, "--levels", "1", "--problems", "1",
                              "--no-append"], capture_output=True, text=True)  # fmt: skip
        assert out.returncode == 1 and out.stderr.strip().startswith("error:")
        assert needle in out.stderr and "Traceback" not in out.stderr


def test_finetune_speed_tables_each_setting_and_refuses_bad_sizes(tmp_path) -> None:
    """A tiny round (2 frontier solutions, 1 reference each) in one pass and in passes of 2:
    one row per setting with the same loss; a bad --sizes or device is one line."""
    script = str(ROOT / "benchmarks" / "finetune_speed.py")
    args = ["--selected", "2", "--replay", "1", "--sizes", "whole,2", "--repeats", "1"]
    out = subprocess.run([sys.executable, script, *args, "--no-append"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith(("| whole", "| 2 "))]
    assert len(rows) == 2
    losses = {row.split("|")[5].strip() for row in rows}
    assert len(losses) == 1  # the same update, whatever the passes
    for bad, why in ((["--sizes", "whole,0"], "--sizes: '0'"), (["--device", "tpu9"], "device")):
        out = subprocess.run([sys.executable, script, *bad, "--no-append"],
                             capture_output=True, text=True, timeout=300)  # fmt: skip
        assert out.returncode != 0 and "Traceback" not in out.stderr
        assert out.stderr.startswith("error:") and why in out.stderr


def test_pretrain_speed_trains_both_precisions_on_the_same_batches() -> None:
    """The speed table's runs: each precision steps a copy of one model on the same batches,
    and the two losses agree (bf16 autocast keeps float32 weights)."""
    import copy

    import torch
    from benchmarks.pretrain_speed import train_steps

    from seal.config import PretrainConfig
    from seal.pretrain import batches, build_model, train_tokenizer

    cfg = PretrainConfig(
        batch_size=4, hidden_size=32, layers=1, heads=2, intermediate_size=64, tokenizer_corpus=300
    )
    tok = train_tokenizer(cfg)
    model = build_model(cfg, len(tok), tok.eos_token_id)
    stream = batches(tok, cfg)
    data = [next(stream) for _ in range(3)]
    before = [p.detach().clone() for p in model.parameters()]
    runs = {
        bf16: train_steps(copy.deepcopy(model), data, torch.device("cpu"), bf16)
        for bf16 in (False, True)
    }
    assert all(t > 0 for t, _ in runs.values())
    assert abs(runs[False][1] - runs[True][1]) < 0.05 * runs[False][1]
    assert all((p == b).all() for p, b in zip(model.parameters(), before, strict=True))
