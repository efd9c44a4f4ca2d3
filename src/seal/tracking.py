"""Metrics to experiment trackers, following the ``report_to`` convention of Hugging Face
trainers: ``tensorboard`` (event files in ``RUN/tensorboard``), ``wandb``, ``mlflow``.

A tracker that is asked for but not installed is a one-line error before the run starts;
one that fails while logging is reported once and then left alone, so a tracker outage
never stops a run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from seal import distributed
from seal.errors import SealError

KNOWN = {"tensorboard": "tensorboard", "wandb": "wandb", "mlflow": "mlflow"}


def check(names: list[str]) -> None:
    for name in names:
        if name not in KNOWN:
            raise SealError(f"unknown --report-to {name!r}; use {', '.join(KNOWN)} or none")
        if importlib.util.find_spec(KNOWN[name]) is None:
            raise SealError(
                f"--report-to {name} needs the {KNOWN[name]} package (pip install {name})"
            )


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested dict as ``a/b/c`` keys."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= flatten(v, key + "/")
        elif isinstance(v, int | float):  # bools too
            out[key] = float(v)
    return out


def leaves(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every leaf of a nested dict as ``a/b`` -> its text (for run parameters)."""
    out: dict[str, str] = {}
    for k, v in config.items():
        key = f"{prefix}{k}"
        out |= leaves(v, key + "/") if isinstance(v, dict) else {key: str(v)[:500]}
    return out


class Tracker:
    def __init__(self, names: list[str], run_dir: Path, config: dict[str, Any]):
        check(names)
        self.backends: dict[str, Any] = {}
        self.failed: set[str] = set()
        # launched distributed, rank 0 alone reports (the others hold the same numbers)
        for name in names if distributed.is_main() else []:
            try:
                self._start(name, run_dir, config)
            except Exception as e:  # a backend's own error (no API key, no server): one line
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                how = " (`wandb login` or WANDB_API_KEY)" if name == "wandb" else ""
                raise SealError(
                    f"--report-to {name} could not start: {first}; set {name} up{how} or "
                    "leave it out"
                ) from None

    def _start(self, name: str, run_dir: Path, config: dict[str, Any]) -> None:
        """Open backend ``name`` (its import and login errors are the caller's to phrase)."""
        if name == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter

            self.backends[name] = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))
        elif name == "wandb":
            import wandb

            self.backends[name] = wandb.init(
                project="seal-lm", name=Path(run_dir).name, config=config, reinit=True
            )
        elif name == "mlflow":
            import mlflow

            mlflow.start_run(run_name=Path(run_dir).name)
            mlflow.log_params(leaves(config))
            self.backends[name] = mlflow

    def log(self, metrics: dict[str, Any], step: int) -> None:
        flat = flatten(metrics)
        for name, backend in self.backends.items():
            if name in self.failed:
                continue
            try:
                if name == "tensorboard":
                    for k, v in flat.items():
                        backend.add_scalar(k, v, step)
                    backend.flush()
                elif name == "wandb":
                    backend.log(flat, step=step)
                else:
                    backend.log_metrics({k.replace("@", "_at_"): v for k, v in flat.items()}, step)
            except Exception as err:  # noqa: BLE001 - never stop a run for a tracker
                self.failed.add(name)
                print(f"warning: {name} logging failed ({err}); it is off for this run")

    def close(self) -> None:
        for name, backend in self.backends.items():
            try:
                if name == "tensorboard":
                    backend.close()
                elif name == "wandb":
                    backend.finish()
                else:
                    backend.end_run()
            except Exception:  # noqa: BLE001
                pass


def iteration_record(m: dict[str, Any]) -> dict[str, Any]:
    """What trackers get from one iteration's metrics (``iter-NN/metrics.json``)."""
    return {
        "validation": {
            "accuracy": m["validation"]["metrics"]["accuracy"],
            "by_level": {k: v["accuracy"] for k, v in m["validation"]["by_level"].items()},
        },
        "selection": {
            "candidates": m["candidates"],
            "selected": m["selected"],
            "precision": m["selected_precision"],
            "candidate_accuracy": m["candidate_accuracy"],
            "within_problem_order": (m.get("within_problem_order") or {}).get("all"),
        },
        "critic": {
            "mean_score": m["mean_score"],
            "audit_accuracy": m["audit_accuracy"],
            "self_label_kept": m["critic_update"].get("kept_fraction"),
        },
        "guards": m["guards"],
        "train": {"sft_loss": (m["sft_losses"] or [None])[-1], **m.get("ppo", {})},
        "accepted": m["accepted"],
    }
