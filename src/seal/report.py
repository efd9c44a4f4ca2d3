"""``seal report RUN``: one self-contained HTML page (plots inlined, no network) about a run.

It reads only what the run directory holds (it imports nothing of the loop), so a run that
stopped half way, even before its first iteration, still gets a report of what exists and a
banner that says where it stopped; a figure that is missing or unreadable (a critic with no
held-out AUROC, a torn metrics file) shows as ``-`` or its plot is left out, never a crash.
The same plots are written as PNG files next to the page. ``run_status`` is what
``seal runs`` lists; one broken run is listed as broken, not an error for the listing.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import socket
from pathlib import Path
from typing import Any

from seal.errors import SealError
from seal.metrics import auroc, reliability
from seal.report_table import seed_rows
from seal.store import (
    MANIFEST_SHAPE,
    atomic_write_bytes,
    atomic_write_text,
    count_rounds,
    owner_alive,
    read_json_object,
)

STAGE_ORDER = ["critic", "base", "base-test", "iter-*", "final"]


def _read(path: Path) -> Any | None:
    """A JSON object from ``path``, or ``None`` when missing, torn or not an object."""
    if not path.is_file():  # missing, or a FIFO whose read would wait forever
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _get(data: Any, *keys: str) -> Any:
    """``data[k1][k2]...`` or ``None`` where any level is missing or not a mapping."""
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def _fmt(value: Any, spec: str) -> str:
    """A number formatted, or ``-`` for a figure that was not measured."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-"
    try:
        return format(value, spec)
    except (OverflowError, ValueError):  # an integer no float holds, in a damaged file
        return "-"


def _pct(value: Any) -> str:
    return "-" if _fmt(value, ".1f") == "-" else f"{100 * value:.1f}"


def _rows(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    except Exception:  # noqa: BLE001 - a missing or torn file: nothing to show
        return []


def run_status(run: Path) -> dict[str, Any]:
    """Name, status (done / running / resumable / failed / empty / broken), iterations done,
    headline. A manifest of the wrong shape is ``broken``, with what is wrong as headline."""
    try:
        manifest = read_json_object(run / "manifest.json", MANIFEST_SHAPE)
    except SealError as err:
        if not (run / "manifest.json").exists():
            manifest = {}
        else:
            return {
                "name": run.name,
                "kind": "?",
                "status": "broken",
                "iterations": 0,
                "headline": str(err).replace(f"{run}{os.sep}", ""),
            }
    stages = manifest.get("stages", {})
    summary = _read(run / "summary.json")
    eval_json = _read(run / "eval.json")
    alive = owner_alive(manifest.get("owner"), run)
    if summary is not None:
        status = "done"
        head = (
            f"test accuracy {_pct(_get(summary, 'base', 'metrics', 'accuracy'))} -> "
            f"{_pct(_get(summary, 'final', 'metrics', 'accuracy'))}"
        )
    elif eval_json is not None or (manifest.get("kind", "").startswith("eval") and stages):
        status = "done"
        head = f"accuracy {_pct(_get(eval_json, 'metrics', 'accuracy'))}" if eval_json else ""
    elif alive:
        last = list(stages)[-1] if stages else "start"
        owner = manifest["owner"]
        where = "" if owner.get("host") == socket.gethostname() else f" on {owner.get('host')}"
        status, head = "running", f"after {last}, process {owner['pid']}{where}"
    elif stages:
        status, head = "resumable", f"stopped after {list(stages)[-1]}"
    elif manifest:
        status, head = "failed", "no stage finished"
    else:
        status, head = "empty", ""
    return {
        "name": run.name,
        "kind": manifest.get("kind", "?"),
        "status": status,
        "iterations": count_rounds(stages),
        "headline": head,
    }


# ---------------------------------------------------------------------------- plots
def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _plots(data: dict[str, Any]) -> dict[str, bytes]:
    """Every plot the data allows; one whose figures are missing or malformed is left out."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SealError("seal report needs matplotlib (pip install 'seal-lm[report]')") from None
    plots: dict[str, bytes] = {}
    for name, draw in (
        ("accuracy", _plot_accuracy),
        ("calibration", _plot_calibration),
        ("rewards", _plot_rewards),
        ("guards", _plot_guards),
    ):
        try:
            fig = draw(data, plt)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError):
            plt.close("all")
            continue
        if fig is not None:
            plots[name] = _png(fig)
    return plots


def _acc(s: Any, level: str | None = None) -> float:
    value = (
        _get(s, "metrics", "accuracy") if level is None else _get(s, "by_level", level, "accuracy")
    )
    return 100 * value if isinstance(value, int | float) else float("nan")


def _legend(ax: Any, **kwargs: Any) -> None:
    """A legend where the axes have labelled lines (matplotlib warns on an empty one:
    a run whose iterations logged no guards)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _plot_accuracy(data: dict[str, Any], plt: Any) -> Any:
    iters = data["iterations"]
    base_val = data.get("base_validation")
    if not iters and not base_val:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    points = ([("base", base_val)] if base_val else []) + [
        (str(m.get("iteration")), m.get("validation")) for m in iters
    ]
    levels = sorted({lv for _, s in points for lv in (_get(s, "by_level") or {})}, key=str)
    for lv in levels:
        ax.plot(
            [x for x, _ in points],
            [_acc(s, lv) for _, s in points],
            marker="o",
            label=f"level {lv}",
        )
    ax.plot([x for x, _ in points], [_acc(s) for _, s in points], "k--", marker="s", label="all")
    ax.set_xlabel("iteration")
    ax.set_ylabel("validation accuracy (%)")
    _legend(ax, fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
    return fig


def _plot_calibration(data: dict[str, Any], plt: Any) -> Any:
    samples = data["samples"]
    if samples:
        n = len(samples)
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.2), squeeze=False)
        for ax, (it, rows) in zip(axes[0], samples.items(), strict=True):
            probs = [r["p_good"] for r in rows]
            truth = [int(r["truth"]) for r in rows]
            bins = reliability(probs, truth)
            ax.plot([0, 1], [0, 1], color="grey", lw=1)
            ax.bar(
                [(b["lo"] + b["hi"]) / 2 for b in bins],
                [b["frequency"] for b in bins],
                width=0.09,
                alpha=0.7,
            )
            ax.plot([b["confidence"] for b in bins], [b["frequency"] for b in bins], "o-")
            a = auroc(probs, truth) if 0 < sum(truth) < len(truth) else float("nan")
            ax.set_title(f"iteration {it}: AUROC {a:.2f}", fontsize=9)
            ax.set_xlabel("critic p(good)")
            ax.set_ylabel("fraction correct")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1)
        return fig
    return None


def _plot_rewards(data: dict[str, Any], plt: Any) -> Any:
    samples = data["samples"]
    if samples:
        n = len(samples)
        fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.0), squeeze=False)
        for ax, (it, rows) in zip(axes[0], samples.items(), strict=True):
            good = [r["score"] for r in rows if r["truth"]]
            bad = [r["score"] for r in rows if not r["truth"]]
            ax.hist([good, bad], bins=10, range=(0, 1), label=["correct", "wrong"], stacked=True)
            ax.set_title(f"iteration {it}: rewards", fontsize=9)
            ax.set_xlabel("critic score")
            _legend(ax, fontsize=7)
        return fig
    return None


def _plot_guards(data: dict[str, Any], plt: Any) -> Any:
    iters = data["iterations"]
    if iters:
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
        xs = [m["iteration"] for m in iters]
        guards = [m.get("guards", {}) for m in iters]
        for key in sorted({k for g in guards for k in g}):
            axes[0].plot(xs, [g.get(key, float("nan")) for g in guards], marker="o", label=key)
        axes[0].set_title("diversity and collapse guards", fontsize=9)
        axes[0].set_xlabel("iteration")
        _legend(axes[0], fontsize=6)
        axes[1].plot(
            xs, [m.get("mean_score", float("nan")) for m in iters], "o-", label="mean critic score"
        )
        axes[1].plot(
            xs,
            [
                m.get("audit_accuracy") if m.get("audit_accuracy") is not None else float("nan")
                for m in iters
            ],
            "s-",
            label="critic audit accuracy",
        )
        axes[1].set_title("reward hacking watch", fontsize=9)
        axes[1].set_xlabel("iteration")
        _legend(axes[1], fontsize=7)
        return fig
    return None


# ---------------------------------------------------------------------------- data
def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def collect(run: Path) -> dict[str, Any]:
    """Everything a report shows, from whatever files the run directory holds."""
    run = Path(run)
    if not (run / "manifest.json").is_file():
        raise SealError(f"{run} is not a run directory (no manifest.json)")
    manifest = read_json_object(run / "manifest.json", MANIFEST_SHAPE)
    iterations, samples, examples = [], {}, {}
    for d in sorted(run.glob("iter-*")):
        m = _read(d / "metrics.json")
        if m is None or not isinstance(m.get("iteration"), int):
            continue
        iterations.append(m)
        rows = _rows(d / "samples.parquet")
        if rows:
            samples[m["iteration"]] = rows
        try:
            ex = json.loads((d / "examples.json").read_text())
        except (OSError, ValueError, RecursionError):
            ex = None
        if isinstance(ex, list) and ex:
            examples[m["iteration"]] = ex
    summary = _read(run / "summary.json") or {}
    data = {
        "run": run,
        "manifest": manifest,
        "config": _text(run / "config.yaml"),
        "critic": _read(run / "critic-0" / "metrics.json"),
        "base_validation": _read(run / "base" / "eval.json"),
        "base": _read(run / "base-test" / "eval.json"),
        "final": _read(run / "final" / "eval.json"),
        "iterations": iterations,
        "samples": samples,
        "examples": examples,
        "summary": summary,
        "status": run_status(run),
    }
    return data


# ---------------------------------------------------------------------------- html
CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}
.banner{background:#fff3cd;border:1px solid #e0c060;padding:.6em 1em;margin:1em 0}
.traj{font-family:monospace;white-space:pre-wrap;border:1px solid #ddd;padding:.5em;
margin:.3em 0;font-size:12px}.sel{border-left:5px solid #2a2}.rej{border-left:5px solid #c33}
.step{display:block}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}
img{max-width:100%}
"""


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    h = "".join(f"<th>{html.escape(x)}</th>" for x in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f'<table class="{cls}"><tr>{h}</tr>{body}</table>'


def _step_html(text: str, scores: list[float] | None) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    out = []
    for i, line in enumerate(lines):
        if scores and i < len(scores) and isinstance(scores[i], int | float):
            s = min(1.0, max(0.0, float(scores[i])))
            # red (0) .. green (1)
            color = f"hsl({int(120 * s)},70%,88%)"
            out.append(
                f'<span class="step" style="background:{color}" title="critic step p(good) '
                f'{s:.2f}">[{s:.2f}] {html.escape(line)}</span>'
            )
        else:
            out.append(f'<span class="step">{html.escape(line)}</span>')
    return "".join(out)


def time_rows(critic: Any, iterations: list[dict[str, Any]]) -> tuple[list[str], list] | None:
    """Header and rows of seconds by stage part (the critic bootstrap's, from its
    ``metrics.json``, and each iteration's), or None for runs that did not record them; the
    report and ``benchmarks/run_cost.py`` show them."""
    named = [("critic", _get(critic, "seconds"))]
    named += [(f"iteration {m.get('iteration')}", m.get("seconds")) for m in iterations]
    named = [(n, x) for n, x in named if isinstance(x, dict) and x]
    if not named:
        return None
    parts = list(dict.fromkeys(k for _, x in named for k in x))

    def total(x: dict[str, Any]) -> float:  # a hand-edited file may hold anything
        return sum(v for v in x.values() if _fmt(v, "") != "-")

    rows = [[n, *(_fmt(x.get(k), ".0f") for k in parts), _fmt(total(x), ".0f")] for n, x in named]
    return ["stage", *parts, "total"], rows


def _results(data: dict[str, Any], plots: dict[str, bytes]) -> list[str]:
    """The seed-style table: accuracy by level, base to final."""
    parts: list[str] = []
    summary = {
        "base": data["base"],
        "final": data["final"],
        "iterations": data["iterations"],
    }
    if data["base"] or data["iterations"]:
        head, rows = seed_rows(summary, data["base_validation"])
        parts.append("<h2>Results: accuracy (%) by level</h2>" + _table(head, rows, "results"))
    return parts


def _critic(data: dict[str, Any], plots: dict[str, bytes]) -> list[str]:
    """The bootstrap critic's held-out readings."""
    parts: list[str] = []
    critic = data["critic"]
    if critic:
        h, b = critic.get("heldout") or {}, critic.get("bootstrap_heldout") or {}
        sl = critic.get("self_label") or {}
        parts.append(
            "<h2>Critic (bootstrap)</h2>"
            + _table(
                [
                    "labels",
                    "AUROC (bootstrap)",
                    "AUROC",
                    "accuracy",
                    "ECE",
                    "self-labels kept",
                    "self-label accuracy",
                    "injections caught",
                ],
                [
                    [
                        critic.get("labels", "-"),
                        _fmt(_get(b, "auroc"), ".3f"),
                        _fmt(_get(h, "auroc"), ".3f"),
                        _fmt(_get(h, "accuracy"), ".3f"),
                        _fmt(_get(h, "ece"), ".3f"),
                        _fmt(_get(sl, "kept_fraction"), ".2f"),
                        _fmt(_get(sl, "accuracy"), ".3f"),
                        _fmt(_get(h, "injection_caught"), ".2f"),
                    ]
                ],
                "critic",
            )
        )
    return parts


def _plot_images(data: dict[str, Any], plots: dict[str, bytes]) -> list[str]:
    """Every plot, inlined."""
    parts: list[str] = []
    captions = {
        "accuracy": "Validation accuracy per iteration and level",
        "calibration": "Critic calibration (reliability diagram) and AUROC per iteration",
        "rewards": "Reward (critic score) histograms per iteration, by ground truth",
        "guards": "Diversity / collapse guards and the reward-hacking watch",
    }
    for key, png in plots.items():
        b64 = base64.b64encode(png).decode()
        parts.append(
            f'<h2>{captions[key]}</h2><img class="plot" alt="{key}" '
            f'src="data:image/png;base64,{b64}">'
        )
    return parts


def _iteration_table(data: dict[str, Any], plots: dict[str, bytes]) -> list[str]:
    """One row per iteration: frontier, selection, guards."""
    parts: list[str] = []
    if data["iterations"]:
        rows = []
        keys = sorted({k for m in data["iterations"] for k in (m.get("guards") or {})})
        for m in data["iterations"]:
            g = m.get("guards") or {}
            frontier = m.get("frontier") or {}
            order = (m.get("within_problem_order") or {}).get("all")
            kept = m.get("train_examples") or {}
            rows.append(
                [
                    m["iteration"],
                    html.escape(f"{frontier.get('levels', '-')}: {frontier.get('reason', '-')}"),
                    _fmt(m.get("candidates"), "d"),
                    _fmt(m.get("selected"), "d"),
                    _fmt(m.get("selected_precision"), ".2f"),
                    _fmt(order, ".2f"),
                    f"{kept.get('total', '-')} ({kept.get('replay', '-')} replay)",
                    "yes"
                    if m.get("accepted")
                    else f"rolled back: {m['rejected_because']}"
                    if m.get("rejected_because")
                    else "rolled back",
                    *(_fmt(g.get(k), ".3f") for k in keys),
                ]
            )
        head = ["iteration", "levels sampled (why)", "candidates", "selected", "precision"]
        head += ["within-problem order", "trained on", "accepted", *keys]
        parts.append(
            "<h2>Iterations and guard readings</h2>"
            "<p>Levels sampled: the frontier chosen from the last validation. Within-problem "
            "order: share of (right, wrong) candidate pairs of the same prompt that the "
            "selection score orders right. Trained on: kept selections of every accepted "
            "iteration plus replayed easy-level references.</p>" + _table(head, rows)
        )
    return parts


def _timing(data: dict[str, Any], plots: dict[str, bytes]) -> list[str]:
    """Seconds by stage."""
    parts: list[str] = []
    timing = time_rows(data["critic"], data["iterations"])
    if timing:
        parts.append(
            "<h2>Where the time went (seconds)</h2>"
            "<p>Wall seconds inside each stage: the critic bootstrap (sampling its pool, "
            "training, measuring on held-out problems, self-labelling) and each iteration "
            "(sampling candidates, scoring them, fine-tuning, the critic's update, "
            "validation).</p>" + _table(*timing)
        )
    return parts


def _examples(data: dict[str, Any], plots: dict[str, bytes]) -> list[str]:
    """Selected vs rejected trajectories of the last iteration with examples."""
    parts: list[str] = []
    if data["examples"]:
        it = max(data["examples"])
        parts.append(f"<h2>Selected vs rejected trajectories (iteration {it})</h2>")
        parts.append(
            "<p>Each line is a step, shaded by the critic's step p(good) (red 0 → green 1); "
            "green border: selected, red border: rejected.</p>"
        )
        for ex in data["examples"][it]:
            if not isinstance(ex, dict):
                continue
            parts.append(f"<h3>{html.escape(str(ex.get('question', '')))}</h3>")
            for c in ex.get("candidates") or []:
                if not isinstance(c, dict):
                    continue
                cls = "sel" if c.get("selected") else "rej"
                tag = "selected" if c.get("selected") else "rejected"
                steps = c.get("steps") if isinstance(c.get("steps"), list) else None
                parts.append(
                    f'<div class="traj {cls}"><b>{tag}</b>, score {_fmt(c.get("score"), ".2f")}, '
                    f"{'correct' if c.get('truth') else 'wrong'}<br>"
                    f"{_step_html(str(c.get('text', '')), steps)}</div>"
                )
    return parts


SECTIONS = (
    ("the results table", _results),
    ("the critic", _critic),
    ("the plots", _plot_images),
    ("the iterations table", _iteration_table),
    ("the time by stage", _timing),
    ("the example trajectories", _examples),
)
"""The report's sections in page order: ``(name, fn(data, plots) -> html parts)``."""


def render(data: dict[str, Any], plots: dict[str, bytes]) -> str:
    """The page: whatever sections the data has; a section it cannot read (a file of the
    run holding something other than what seal writes) is left out, with a note."""
    run: Path = data["run"]
    status = data["status"]
    parts = [f"<h1>seal run {html.escape(run.name)}</h1>"]
    parts.append(
        f"<p>status: <b>{status['status']}</b> · iterations done: {status['iterations']} · "
        f"{html.escape(status['headline'])}</p>"
    )
    if status["status"] != "done":
        stages = list(data["manifest"].get("stages", {}))
        parts.append(
            '<div class="banner">This run did not finish: it stopped after stage '
            f"<b>{html.escape(stages[-1]) if stages else 'none'}</b>. Shown below is what it "
            f"wrote. Continue it with <code>seal run --resume {html.escape(str(run))}</code>."
            "</div>"
        )
    for name, section in SECTIONS:
        try:
            parts += section(data, plots)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError, OverflowError):
            parts.append(f'<p class="banner">Left out: {name} (the run\'s files for it hold '
                         "something other than what seal writes).</p>")  # fmt: skip
    parts.append(f"<h2>Configuration</h2><pre>{html.escape(data['config'])}</pre>")
    body = "\n".join(parts)
    # marks, once loaded, how many plots decoded (checked by the headless-browser test)
    script = (
        "<script>window.addEventListener('load',()=>{document.body.dataset.plotsRendered="
        "[...document.images].filter(i=>i.naturalWidth>0).length;});</script>"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>seal run {html.escape(run.name)}"
        f"</title><style>{CSS}</style></head><body>{body}{script}</body></html>"
    )


def write_report(run: Path, out_dir: Path | None = None) -> Path:
    """Write ``report.html`` and the plots as PNG into ``out_dir`` (default ``RUN/report``)."""
    data = collect(run)
    plots = _plots(data)
    out_dir = Path(out_dir) if out_dir else Path(run) / "report"
    html = render(data, plots)  # all of it made before anything is written
    for name, png in plots.items():
        atomic_write_bytes(out_dir / f"{name}.png", png)
    page = out_dir / "report.html"
    atomic_write_text(page, html)
    return page
