"""Does the loop improve the embedded model? `seal run` per selection rule, side by side.

Runs the embedded default (tiny model, wordmath, tiny-cpu preset) once per variant and seed
(`--seeds`; by default oracle, critic and none at three seeds), each as
its own `seal run` process: `--select critic` (the default), `oracle` (ground truth: STaR /
RFT), `majority` (self-consistency), `none`, `replay` (the control: the references the
critic's run replays, without its selections), `critic+ppo` (`--update ppo`), and, for the
critic-vs-tree-search attribution, `critic+tot` and `none+tot` (`--search tot`: candidates
are the finished leaves of a critic-valued Tree-of-Thoughts search). Tabulates
test accuracy by level before → after, the relative gain on the two hardest levels, the
share of the oracle's gain each variant reaches (by seed, and pooled over the seeds with a
bootstrap interval over the test problems), the paired won / lost problems against the
base (exact McNemar p), wall time and peak memory (the child's max RSS from wait4).

`--parallel N` runs N seeds at once (a GPU runs several tiny-model processes side by side;
each one's wall time then includes the sharing). `--keep FILE` appends each finished run's
summary to a JSON-lines file as it finishes (a machine given back keeps what finished;
~190 KB a run: each round's per-problem validation is left out, the base and final test
kept);
`--from FILE` tabulates such a file without running anything. `--adopt RUN_DIR --keep FILE`
appends a run finished outside this script (a killed run continued by `seal run --resume`):
its variant and seed read from its config, its wall time left out (it spans the pause).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python benchmarks/efficacy.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, markdown_table, report, run_child, this_command
from seal.config import dump_config, load_config, parse_set
from seal.paired import paired_change

VARIANTS = {
    "critic": ["--select", "critic"],
    "oracle": ["--select", "oracle"],
    "majority": ["--select", "majority"],
    "none": ["--select", "none"],
    "critic+ppo": ["--select", "critic", "--update", "ppo"],
    "critic+tot": ["--select", "critic", "--search", "tot"],
    "none+tot": ["--select", "none", "--search", "tot"],
    "replay": ["--select", "critic", "--set", "run.replay_only=true"],
}
"""Each variant's `seal run` flags: `--select`, `--update`, `--search` or `--set run.KEY=V`
(run.* keys). `replay` is the control: the critic's run trained on its replayed references
alone, without the selected solutions."""


def share_bootstrap(first: Path, run: Path, name: str) -> None:
    """Start ``run`` from ``first``'s critic and base evaluations (same seed, so the same
    files a fresh run would compute), with this variant's selection / update rule."""
    flags = VARIANTS[name]
    overrides: dict[str, object] = {}
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        if flag == "--set":
            overrides.update(parse_set([value]))
        else:
            overrides[f"run.{flag.removeprefix('--')}"] = value
    cfg = load_config(first / "config.yaml", overrides=overrides)
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(dump_config(cfg))
    manifest = json.loads((first / "manifest.json").read_text())
    keep = ("critic", "base", "base-test")
    manifest["stages"] = {k: v for k, v in manifest["stages"].items() if k in keep}
    manifest.pop("owner", None)
    (run / "manifest.json").write_text(json.dumps(manifest))
    for d in ("critic-0", "base", "base-test"):
        shutil.copytree(first / d, run / d)


def run_one(name: str, root: Path, extra: list[str], first: Path | None) -> dict:
    run = root / name.replace("+", "-")
    seal = [sys.executable, "-m", "seal.cli", "--quiet", "run"]
    if first is None:
        cmd = [*seal, *VARIANTS[name], "--name", run.name, "--set", f"runs_dir={root}", *extra]
    else:
        share_bootstrap(first, run, name)
        cmd = [*seal, "--resume", str(run)]
    wall, peak, code = run_child(cmd)
    if code:
        raise SystemExit(f"{name}: seal run exited {code}")
    summary = json.loads((run / "summary.json").read_text())
    summary["wall_s"] = wall
    summary["peak_gb"] = peak
    summary["shared"] = first is not None
    return summary


def pooled_share(
    runs: list[dict], oracle: list[dict], hard: list[str], draws: int = 2000
) -> tuple[float, float, float] | None:
    """The variant's gain on the hard levels' test problems summed over the seeds it shares
    with the oracle, over the oracle's summed gain at those seeds, with a 95% bootstrap
    interval: the test problems (the same at every seed) resampled by level, one draw for
    every run at once, so the interval is the test set's noise on the pooled share. None
    without per-problem outcomes or an oracle gain."""
    by_seed = {o["seed"]: o for o in oracle}
    pairs = [(s, by_seed[s["seed"]]) for s in runs if s["seed"] in by_seed]

    def right(summary: dict) -> dict[str, int] | None:
        rows = summary.get("problems")
        if not isinstance(rows, list):
            return None
        return {str(r["id"]): int(r["correct"]) for r in rows if str(r["level"]) in hard}

    tables = [(right(s["base"]), right(s["final"]), right(o["final"])) for s, o in pairs]
    if not tables or any(t is None for row in tables for t in row):
        return None
    ids = sorted(set.intersection(*(set(t) for row in tables for t in row)))
    if not ids:
        return None
    level = {str(r["id"]): str(r["level"]) for r in pairs[0][0]["base"]["problems"]}
    strata = [np.array([k for k, i in enumerate(ids) if level[i] == lv]) for lv in hard]
    base, mine, best = (np.array([[row[j][i] for i in ids] for row in tables]) for j in range(3))
    if (best - base).sum() <= 0:
        return None
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(draws):
        pick = np.concatenate([rng.choice(st, len(st)) for st in strata if len(st)])
        gain = (best[:, pick] - base[:, pick]).sum()
        if gain > 0:
            shares.append((mine[:, pick] - base[:, pick]).sum() / gain)
    if not shares:  # the oracle's gain vanishes in every resample: no interval to give
        return None
    lo, hi = np.percentile(shares, [2.5, 97.5])
    return float((mine - base).sum() / (best - base).sum()), float(lo), float(hi)


def _hard(s: dict, hard: list[str]) -> float:
    return sum(s["by_level"][lv]["accuracy"] for lv in hard) / len(hard)


def _count(runs: list[dict]) -> str:
    """How many seeds a row holds, and how many runs where a seed was drawn more than once
    (kept runs of the same seed at other code or float order)."""
    seeds = len({s["seed"] for s in runs})
    cell = f"{seeds} seed{'s' if seeds > 1 else ''}"
    return cell if len(runs) == seeds else f"{len(runs)} runs, {cell}"


def _spread(xs: list[float], fmt: str) -> str:
    """Median, and [min, max] when there are several seeds."""
    med = format(statistics.median(xs), fmt)
    return med if len(xs) < 2 else f"{med} [{format(min(xs), fmt)}, {format(max(xs), fmt)}]"


def _wall(runs: list[dict]) -> str:
    """Wall minutes over the runs that were timed (a run paused or shared by hand is kept
    with ``wall_s`` null: its accuracy counts, its time does not)."""
    walls = [s["wall_s"] / 60 for s in runs if s.get("wall_s") is not None]
    if not walls:
        return "not timed"
    cell = _spread(walls, ".1f")
    cell += f" ({len(walls)} of {len(runs)} timed)" if len(walls) < len(runs) else ""
    return cell + (" (after shared bootstrap)" if all(s["shared"] for s in runs) else "")


def kept_row(summary: dict) -> dict:
    """A run's summary as `--keep` stores it: the per-problem outcomes of every round's
    validation dropped (the tables use the base and final test only), so a row is ~190 KB
    instead of ~700 KB and kept files can live beside the code."""
    row = dict(summary)
    row["iterations"] = [
        {**it, "validation": {k: v for k, v in it["validation"].items() if k != "problems"}}
        if isinstance(it.get("validation"), dict) else it
        for it in summary.get("iterations") or []
    ]  # fmt: skip
    if isinstance(row.get("base_validation"), dict):
        row["base_validation"] = {
            k: v for k, v in row["base_validation"].items() if k != "problems"
        }
    return row


def run_seed(
    seed: int, names: list[str], args: argparse.Namespace, root: Path, lock: threading.Lock
) -> list[dict]:
    """One seed's variants ``names`` in order (the first one's bootstrap shared with the rest)."""
    extra = [x for s in args.set for x in ("--set", s)]
    extra += ["--set", f"run.seed={seed}", "--set", f"critic.seed={seed}"]
    first: Path | None = None
    done = []
    for name in names:
        summary = run_one(name, root / f"seed-{seed}", extra, first if args.share else None)
        summary["seed"], summary["variant"] = seed, name
        summary["machine"], summary["command"] = machine(), this_command()
        done.append(summary)
        first = first or root / f"seed-{seed}" / name.replace("+", "-")
        f = summary["final"]["metrics"]["accuracy"]
        with lock:
            print(f"{name} seed {seed}: final test accuracy {f:.3f}, {summary['wall_s']:.0f}s",
                  flush=True)  # fmt: skip
            if args.keep:
                with args.keep.open("a") as out:
                    out.write(json.dumps(kept_row(summary)) + "\n")
    return done


def variant_of(cfg: dict) -> str:
    """The `VARIANTS` name whose flags a run's config.yaml (as a dict) holds."""
    run = cfg.get("run") or {}
    for name, flags in VARIANTS.items():
        want = {"select": "critic", "search": "sample", "update": "sft", "replay_only": False}
        for flag, value in zip(flags[::2], flags[1::2], strict=True):
            if flag == "--set":
                key, _, raw = value.partition("=")
                want[key.removeprefix("run.")] = raw == "true" if raw in ("true", "false") else raw
            else:
                want[flag.removeprefix("--")] = value
        if all(run.get(k) == v for k, v in want.items()):
            return name
    raise SystemExit("error: the run's settings match no variant of this script")


def adopt(run: Path, keep: Path) -> None:
    """Append the finished run in ``run`` to ``keep`` as `--keep` would have."""
    import yaml

    summary_file, config_file = run / "summary.json", run / "config.yaml"
    if not summary_file.is_file() or not config_file.is_file():
        raise SystemExit(
            f"error: --adopt {run}: no summary.json and config.yaml; give a finished "
            "`seal run` directory (continue a killed one with `seal run --resume` first)"
        )
    try:
        cfg = yaml.safe_load(config_file.read_text())
        summary = json.loads(summary_file.read_text())
        seed = cfg["run"]["seed"]
        summary["final"]["by_level"]  # noqa: B018 - a finished run's test result, or the error
    except (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError):
        raise SystemExit(
            f"error: --adopt {run}: its config.yaml or summary.json is not what `seal run` "
            "writes; give the directory of a finished run"
        ) from None
    summary["variant"], summary["seed"] = variant_of(cfg), seed
    summary["wall_s"] = None  # a resumed run's wall time spans its pause
    summary["peak_gb"] = (summary.get("peak_rss_mb") or 0) / 1024 or None
    summary["shared"] = True
    summary["machine"] = machine()
    # plain text: the report puts the command in backticks
    summary["command"] = f"seal run in {run}, adopted by {this_command()}"
    with keep.open("a") as out:
        out.write(json.dumps(kept_row(summary)) + "\n")
    print(f"{summary['variant']} seed {summary['seed']} -> {keep}")


def kept_commands(results: dict[str, list[dict]]) -> str:
    """The commands that made the tabulated runs, each once, in order: ``a`; `b``."""
    commands = dict.fromkeys(r["command"] for runs in results.values() for r in runs)
    return "`; `".join(commands)


def load_kept(path: Path) -> dict[str, list[dict]]:
    """Runs appended by `--keep`, by variant, in file order."""
    if not path.is_file():
        raise SystemExit(f"error: {path} does not exist: give the file `--keep` wrote")
    results: dict[str, list[dict]] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        try:
            s = json.loads(line)
            results.setdefault(s["variant"], []).append(s)
        except (json.JSONDecodeError, KeyError, TypeError):
            raise SystemExit(f"error: {path}:{n} is not a run kept by --keep") from None
    if not results:
        raise SystemExit(f"error: {path} holds no runs")
    return results


def _paired(s: dict) -> str:
    """Problems the final policy won / lost against the base, with the McNemar p."""
    c = paired_change(s["base"], s["final"])
    return "-" if c is None else f"+{c['won']}/-{c['lost']} ({c['p']:.2g})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--variants", default="oracle,critic,majority,none")
    ap.add_argument("--seeds", default="0,1,2", help="run and critic seeds")
    ap.add_argument(
        "--seeded", default="oracle,critic,none", help="variants run at every seed (others: first)"
    )
    ap.add_argument("--set", action="append", default=[], help="extra seal --set overrides")
    ap.add_argument(
        "--no-share",
        dest="share",
        action="store_false",
        help="train a critic per variant (default: the later variants of a seed start from its "
        "first run's critic and base evaluations, identical by seed, and time only the rest)",
    )
    ap.add_argument("--parallel", type=int, default=1, help="seeds run at once")
    ap.add_argument("--keep", type=Path, help="append each finished run's summary to this file")
    ap.add_argument(
        "--from",
        dest="source",
        type=Path,
        action="append",
        help="tabulate runs kept by --keep (give it again to tabulate several files together)",
    )
    ap.add_argument(
        "--adopt", type=Path, help="append this finished run directory to --keep, then stop"
    )
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    if args.adopt:
        if not args.keep:
            raise SystemExit("error: --adopt appends to a --keep FILE; give one")
        adopt(args.adopt, args.keep)
        return
    if args.parallel < 1:
        raise SystemExit("error: --parallel must be at least 1")
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown and not args.source:
        choices = ", ".join(VARIANTS)
        raise SystemExit(f"error: unknown variant {unknown[0]!r}: choose from {choices}")

    if args.source:
        results: dict[str, list[dict]] = {}
        for source in args.source:
            for variant, runs in load_kept(source).items():
                results.setdefault(variant, []).extend(runs)
        root = ", ".join(str(source) for source in args.source)
    else:
        try:
            seeds = [int(x) for x in args.seeds.split(",")]
        except ValueError:
            raise SystemExit(
                f"error: --seeds {args.seeds!r}: give whole numbers, e.g. 0,1,2"
            ) from None
        if args.keep and not args.keep.parent.is_dir():
            raise SystemExit(f"error: --keep {args.keep}: its folder does not exist")
        root = Path(tempfile.mkdtemp(prefix="seal-efficacy-"))
        seeded = set(args.seeded.split(","))
        variants = args.variants.split(",")
        plan = {sd: [v for v in variants if sd == seeds[0] or v in seeded] for sd in seeds}
        lock = threading.Lock()
        with ThreadPoolExecutor(max_workers=args.parallel) as pool:
            per_seed = list(pool.map(lambda sd: run_seed(sd, plan[sd], args, root, lock), seeds))
        results = {}
        for runs in per_seed:
            for s in runs:
                results.setdefault(s["variant"], []).append(s)

    any_run = next(iter(results.values()))[0]
    levels = list(any_run["final"]["by_level"])
    hard = levels[-2:]
    oracle_gain = {
        s["seed"]: _hard(s["final"], hard) - _hard(s["base"], hard)
        for s in results.get("oracle", [])
    }
    rows = []
    for name, runs in results.items():
        gains = [
            (_hard(s["final"], hard) - _hard(s["base"], hard)) / max(_hard(s["base"], hard), 1e-9)
            for s in runs
        ]
        shares = [
            (_hard(s["final"], hard) - _hard(s["base"], hard)) / oracle_gain[s["seed"]]
            for s in runs
            if oracle_gain.get(s["seed"])
        ]
        pooled = pooled_share(runs, results.get("oracle", []), hard) if name != "oracle" else None
        drops = [
            max(
                100
                * (s["base"]["by_level"][lv]["accuracy"] - s["final"]["by_level"][lv]["accuracy"])
                for lv in levels
            )
            for s in runs
        ]

        def median(stage: str, lv: str, runs: list[dict] = runs) -> float:
            return 100 * statistics.median(s[stage]["by_level"][lv]["accuracy"] for s in runs)

        cells = [f"{median('base', lv):.1f} → {median('final', lv):.1f}" for lv in levels]
        overall = [100 * s["final"]["metrics"]["accuracy"] for s in runs]
        rows.append(
            [
                f"{name} ({_count(runs)})",
                *cells,
                _spread(overall, ".1f"),
                "; ".join(_paired(s) for s in runs),
                _spread([100 * g for g in gains], "+.0f") + "%",
                _spread(shares, ".2f") if shares else "-",
                "-" if pooled is None else "{:.2f} [{:.2f}, {:.2f}]".format(*pooled),
                _spread(drops, ".1f"),
                _wall(runs),
                f"{max(s['peak_gb'] for s in runs):.2f}",
            ]
        )
    table = markdown_table(
        [
            "variant",
            *(f"L{lv} test %" for lv in levels),
            "all test %",
            "won / lost vs base (p), by seed",
            f"rel. gain L{'+'.join(hard)}",
            "share of oracle gain",
            "pooled share [95% CI]",
            "worst level drop (pts)",
            "wall min",
            "peak GB",
        ],
        rows,
    )
    report(
        "Self-improvement efficacy (seal run, tiny-cpu preset)",
        table,
        f"Runs kept in {root}"
        + (f", {args.parallel} seeds at a time" if args.parallel > 1 else "")
        + ". Each run is one `seal run` process; cells are the median over "
        f"seeds of base → final test accuracy ({any_run['final']['n']} test problems), "
        "other columns median [min, max] over seeds; the pooled share is the variant's summed "
        "gain on the hard levels over the oracle's at the same seeds, with a bootstrap interval "
        "over the test problems. Targets: relative gain on the two hardest "
        "levels >= 50%, no level down > 2 points, critic >= 80% of the oracle's gain and above "
        "majority and none by more than the seed spread, <= 10 min, <= 3 GB.",
        append=not args.no_append,
        measured=(any_run["machine"], kept_commands(results)) if args.source else None,
    )


if __name__ == "__main__":
    main()
