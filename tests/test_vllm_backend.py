"""The vLLM backend's checks that need no vLLM: a missing install, adapters it cannot serve.

The backend itself has not run (no vLLM build installs on this CPU machine; see
docs/scale-out.md); ``benchmarks/gpu.sh`` compares it with the HF backend on a GPU."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from seal.errors import SealError
from seal.generation.vllm_engine import check_adapter, engine_rank

no_vllm = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here"
)


@no_vllm
def test_run_with_vllm_missing_is_one_line(seal_cli, one_line_error, tmp_path: Path) -> None:
    code, _, err = seal_cli(
        "run", "--backend", "vllm", "--set", f"runs_dir={tmp_path}", "--name", "v"
    )
    one_line_error(code, err, "pip install 'seal-lm[vllm]'")
    assert not (tmp_path / "v" / "critic-0").exists()


def test_engine_rank_is_an_allowed_max_lora_rank() -> None:
    assert [engine_rank(r) for r in (1, 4, 8, 16, 17, 64, 300)] == [1, 8, 8, 16, 32, 64, 320]
    with pytest.raises(SealError, match="at most 512"):
        engine_rank(1024)


def _adapter(tmp_path: Path, **cfg) -> Path:
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 16, **cfg}))
    return tmp_path


def test_adapters_vllm_cannot_serve_are_refused(tmp_path: Path) -> None:
    assert check_adapter(_adapter(tmp_path)) == 16
    for bad, needle in [
        ({"modules_to_save": ["lm_head"]}, "modules_to_save"),
        ({"use_dora": True}, "DoRA"),
        ({"bias": "all"}, "biases"),
        ({"r": 1024}, "at most 512"),
    ]:
        with pytest.raises(SealError, match=needle):
            check_adapter(_adapter(tmp_path, **bad))
    with pytest.raises(SealError, match="not a saved adapter"):
        check_adapter(tmp_path / "missing")
