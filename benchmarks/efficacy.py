"""Does the loop improve the embedded model? `seal run` per selection rule, side by side.

Runs the embedded default (tiny model, wordmath, tiny-cpu preset) once per variant, each as
its own `seal run` process: `--select critic` (the default), `oracle` (ground truth: STaR /
RFT), `majority` (self-consistency), `none`, `critic+ppo` (`--update ppo`), and, for the
critic-vs-tree-search attribution, `critic+tot` and `none+tot` (`--search tot`: candidates
are the finished leaves of a critic-valued Tree-of-Thoughts search). Tabulates
test accuracy by level before → after, the relative gain on the two hardest levels, the
share of the oracle's gain each variant reaches, wall time and peak memory (the child's
max RSS from wait4).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/efficacy.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, report, run_child
from seal.config import dump_config, load_config

VARIANTS = {
    "critic": ["--select", "critic"],
    "oracle": ["--select", "oracle"],
    "majority": ["--select", "majority"],
    "none": ["--select", "none"],
    "critic+ppo": ["--select", "critic", "--update", "ppo"],
    "critic+tot": ["--select", "critic", "--search", "tot"],
    "none+tot": ["--select", "none", "--search", "tot"],
}
"""Each variant's `seal run` flags: `--select`, `--update`, `--search` (run.* keys)."""


def share_bootstrap(first: Path, run: Path, name: str) -> None:
    """Start ``run`` from ``first``'s critic and base evaluations (same seed, so the same
    files a fresh run would compute), with this variant's selection / update rule."""
    cfg = load_config(first / "config.yaml")
    flags = VARIANTS[name]
    update = {
        flag.removeprefix("--"): value for flag, value in zip(flags[::2], flags[1::2], strict=True)
    }
    cfg = cfg.model_copy(update={"run": cfg.run.model_copy(update=update)})
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--set", action="append", default=[], help="extra seal --set overrides")
    ap.add_argument(
        "--no-share",
        dest="share",
        action="store_false",
        help="train a critic per variant (default: the later variants start from the first "
        "run's critic and base evaluations, identical by seed, and time only the rest)",
    )
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="seal-efficacy-"))
    extra = [x for s in args.set for x in ("--set", s)]
    results: dict[str, dict] = {}
    first: Path | None = None
    for name in args.variants.split(","):
        results[name] = run_one(name, root, extra, first if args.share else None)
        first = first or root / name.replace("+", "-")
        f = results[name]["final"]["metrics"]["accuracy"]
        print(f"{name}: final test accuracy {f:.3f}, {results[name]['wall_s']:.0f}s", flush=True)

    first = next(iter(results.values()))
    levels = list(first["final"]["by_level"])
    hard = levels[-2:]

    def hard_acc(s: dict) -> float:
        return sum(s["by_level"][lv]["accuracy"] for lv in hard) / len(hard)

    base_hard = hard_acc(first["base"])
    oracle = results.get("oracle")
    oracle_gain = hard_acc(oracle["final"]) - base_hard if oracle else None
    rows = []
    for name, s in results.items():
        gain = hard_acc(s["final"]) - base_hard
        drops = [
            100 * (s["base"]["by_level"][lv]["accuracy"] - s["final"]["by_level"][lv]["accuracy"])
            for lv in levels
        ]
        rows.append(
            [
                name,
                *(
                    f"{100 * s['base']['by_level'][lv]['accuracy']:.0f} → "
                    f"{100 * s['final']['by_level'][lv]['accuracy']:.0f}"
                    for lv in levels
                ),
                f"{100 * gain / base_hard:+.0f}%" if base_hard else "n/a",
                f"{gain / oracle_gain:.2f}" if oracle_gain else "-",
                f"{max(drops):.1f}",
                f"{s['wall_s'] / 60:.1f}" + (" (after shared bootstrap)" if s["shared"] else ""),
                f"{s['peak_gb']:.2f}",
            ]
        )
    table = markdown_table(
        [
            "variant",
            *(f"L{lv} test %" for lv in levels),
            f"rel. gain L{'+'.join(hard)}",
            "share of oracle gain",
            "worst level drop (pts)",
            "wall min",
            "peak GB",
        ],
        rows,
    )
    report(
        "Self-improvement efficacy (seal run, tiny-cpu preset)",
        table,
        f"Runs kept in {root}. Each row is one `seal run` process; cells are base → final test "
        "accuracy "
        f"({first['final']['n']} test problems). Targets: relative gain on the two hardest "
        "levels >= 50%, no level down > 2 points, critic >= 80% of the oracle's gain and above "
        "majority and none, <= 10 min, <= 3 GB.",
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
