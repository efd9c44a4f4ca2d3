import re
from pathlib import Path

import pytest
import yaml

from seal.config import MAX_SAMPLES, MAX_SEED, SealConfig, dump_config, load_config, parse_set
from seal.errors import SealError


def test_defaults_roundtrip_through_yaml(tmp_path: Path) -> None:
    cfg = SealConfig()
    path = tmp_path / "c.yaml"
    path.write_text(dump_config(cfg))
    assert load_config(path) == cfg


def test_yaml_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("sampling:\n  seed: 5\n  temperature: 0.5\neval:\n  limit: 7\n")
    cfg = load_config(path, {"sampling.seed": 9, "eval.levels": [4, 5]})
    assert cfg.sampling.seed == 9  # flag beats YAML
    assert cfg.sampling.temperature == 0.5  # YAML beats default
    assert cfg.eval.limit == 7 and cfg.eval.levels == [4, 5]


def test_unknown_key_names_key_and_allowed(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("sampling:\n  temprature: 0.5\n")
    with pytest.raises(SealError) as err:
        load_config(path)
    msg = str(err.value)
    assert "sampling.temprature" in msg and "temperature" in msg and "\n" not in msg


def test_unknown_section() -> None:
    with pytest.raises(SealError, match="unknown config key 'sampler'.*sampling"):
        load_config(None, {"sampler.seed": 1})


def test_wrong_type_names_key() -> None:
    with pytest.raises(SealError, match="config key 'eval.limit'.*'many'"):
        load_config(None, {"eval.limit": "many"})
    with pytest.raises(SealError, match="config key 'model.dtype'.*float32"):
        load_config(None, {"model.dtype": "fp8"})


@pytest.mark.parametrize(
    "key", ["eval.samples", "search.n", "critic.samples_per_problem", "run.samples"]
)
def test_sample_counts_have_a_ceiling(key: str) -> None:
    """``--samples 100000000`` was taken, and sampled until killed: refused at once now."""
    assert load_config(None, {key: MAX_SAMPLES}).model_dump()[key.split(".")[0]]
    with pytest.raises(SealError, match=f"config key '{re.escape(key)}'.*{MAX_SAMPLES}"):
        load_config(None, {key: 100_000_000})


@pytest.mark.parametrize("key", ["sampling.seed", "pretrain.seed", "run.seed", "critic.seed"])
def test_seeds_stay_in_the_range_every_generator_takes(key: str) -> None:
    """A seed of 2**64 was taken and failed in torch after the model loaded (a run left a
    husk behind); loops derive seeds from it (``seed * 1000 + round``)."""
    assert load_config(None, {key: MAX_SEED}).model_dump()[key.split(".")[0]]
    for bad in (2**64, -1):
        with pytest.raises(SealError, match=f"config key '{re.escape(key)}'"):
            load_config(None, {key: bad})


def test_pretrain_levels_are_wordmath_levels() -> None:
    for key in ("pretrain.levels", "pretrain.stretch_levels"):
        with pytest.raises(SealError, match=f"config key '{re.escape(key)}'.*levels are 1-8"):
            load_config(None, {key: [2, 0]})


def test_a_yaml_boolean_is_no_number_or_text(tmp_path: Path) -> None:
    """pydantic's lax mode read ``true`` as 1: ``run.iterations=true`` ran one round."""
    for key, value in [
        ("run.iterations", True),
        ("sampling.temperature", False),
        ("eval.levels", [True, 2]),
        ("run.sft_micro_batch", True),
        ("model.name", True),
    ]:
        with pytest.raises(SealError, match=f"config key '{key}': .*not true/false"):
            load_config(None, {key: value})
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("run:\n  iterations: yes\n")
    with pytest.raises(SealError, match="'run.iterations'.*quote them for text"):
        load_config(yaml_file)
    cfg = load_config(None, {"run.accumulate": True, "model.name": "yes", "run.iterations": 3})
    assert cfg.run.accumulate is True and cfg.model.name == "yes" and cfg.run.iterations == 3
    # a key whose words are on / off takes YAML's reading of them back: the NaN-gradient
    # error's advice `--set model.train_bf16=off` was refused as a boolean
    for raw, word in (("off", "off"), ("on", "on"), ("'auto'", "auto")):
        assert load_config(None, parse_set([f"model.train_bf16={raw}"])).model.train_bf16 == word
    assert load_config(None, parse_set(["critic.coverage=off"])).critic.coverage == "off"


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(SealError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(SealError, match="is a directory; give a file"):
        load_config(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(SealError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(SealError, match="mapping"):
        load_config(bad)
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(SealError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("run:\n\titerations: 3\n")  # a tab: what and where, not just "while scanning"
    with pytest.raises(SealError, match=r"not valid YAML: found character .*line 2, column 1"):
        load_config(bad)
    with pytest.raises(SealError, match="/dev/null is not a regular file"):
        load_config(Path("/dev/null"))


def test_parse_set() -> None:
    assert parse_set(["a.b=3", "c.d=[1, 2]", "e.f=x"]) == {"a.b": 3, "c.d": [1, 2], "e.f": "x"}
    with pytest.raises(SealError, match="key=value"):
        parse_set(["novalue"])


def test_dump_is_plain_yaml() -> None:
    data = yaml.safe_load(dump_config(SealConfig()))
    assert set(data) == {
        "model",
        "sampling",
        "eval",
        "search",
        "pretrain",
        "critic",
        "run",
        "runs_dir",
    }


def test_preset_sits_below_yaml_and_flags(tmp_path: Path) -> None:
    from seal.config import PRESETS

    path = tmp_path / "c.yaml"
    path.write_text("run:\n  top_k: 7\n")
    cfg = load_config(path, {"run.iterations": 2}, PRESETS["paper"])
    assert cfg.run.samples == 500  # from the preset
    assert cfg.run.top_k == 7  # YAML beats preset
    assert cfg.run.iterations == 2  # flag beats preset


def test_seal_run_default_preset_halves_the_critic_bootstrap() -> None:
    """`seal critic train` gets the full critic schedule; `seal run` (tiny-cpu) a half-size
    one so the loop fits its time budget, unless the user sets it."""
    from seal.config import PRESETS

    alone = load_config(None, {})
    run = load_config(None, {}, PRESETS["tiny-cpu"])
    assert run.critic.epochs < alone.critic.epochs
    assert run.critic.problems_per_level < alone.critic.problems_per_level
    mine = load_config(None, {"critic.epochs": 5}, PRESETS["tiny-cpu"])
    assert mine.critic.epochs == 5


def test_auto_bf16_on_cpu_needs_the_flag_and_a_faster_step(monkeypatch) -> None:
    import torch

    from seal import precision

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(precision, "cpu_bf16_is_faster", lambda: False)
    assert not precision.use_bf16(cpu, "auto")
    assert precision.use_bf16(cpu, "on") and not precision.use_bf16(cpu, "off")
    monkeypatch.setattr(precision, "cpu_bf16_is_faster", lambda: True)
    assert precision.use_bf16(cpu, "auto")
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert not precision.use_bf16(cpu, "auto")


def test_the_bf16_speed_probe_runs_under_no_grad() -> None:
    """Its first caller can be GRPO's reference pass, inside torch.no_grad(): the probe
    times a backward pass and must not fail there."""
    import torch

    from seal import precision

    with torch.no_grad():
        assert precision.cpu_bf16_is_faster.__wrapped__() in (True, False)


def test_auto_dtype_keeps_a_float32_checkpoint_float32_on_a_gpu(tmp_path) -> None:
    import json

    import torch

    from seal.models import resolve_dtype, resolve_model_path

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    tiny = str(resolve_model_path("tiny"))
    assert resolve_dtype("auto", cuda, tiny) == torch.float32  # the embedded model's own
    assert resolve_dtype("auto", cpu, tiny) == torch.float32
    (tmp_path / "config.json").write_text(json.dumps({"torch_dtype": "bfloat16"}))
    assert resolve_dtype("auto", cuda, str(tmp_path)) == torch.bfloat16
    assert resolve_dtype("auto", cpu, str(tmp_path)) == torch.float32
    assert resolve_dtype("auto", cuda, str(tmp_path / "missing")) == torch.bfloat16
    (tmp_path / "config.json").write_text(json.dumps({"torch_dtype": "float16"}))  # Llama-2
    assert resolve_dtype("auto", cuda, str(tmp_path)) == torch.bfloat16
    assert resolve_dtype("float16", cpu, tiny) == torch.float16


def test_runs_dir_expands_home(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_config(None, {"runs_dir": "~/runs"}).runs_dir == tmp_path / "runs"


def test_what_no_config_can_mean_is_one_plain_line(tmp_path: Path) -> None:
    """A section given one value, an empty value, nan or inf, a key written twice: each a
    line that says what to write instead, not pydantic's wording or a silent last-wins."""
    cases = {
        "run=3": "is a section, not a value; set its keys: run.KEY=VALUE",
        "runs_dir=": "'runs_dir' needs a value",
        "run.iterations=": "'run.iterations' needs a value",
        "sampling.temperature=nan": "finite number",
        "sampling.temperature=.inf": "finite number",
    }
    for pair, needle in cases.items():
        with pytest.raises(SealError, match=re.escape(needle)):
            load_config(None, parse_set([pair]))
    files = {
        "run:\n  iterations: 2\nsampling:\n  seed: 1\nrun:\n  top_k: 1\n": (
            r"key 'run' appears twice.*line 5"
        ),
        "run:\n  top_k: 1\n  top_k: 2\n": "key 'top_k' appears twice",
        "run:\n  ? [a, b]\n  : 1\n": "unhashable key",
    }
    for text, needle in files.items():
        path = tmp_path / "c.yaml"
        path.write_text(text)
        with pytest.raises(SealError, match=needle):
            load_config(path)


def test_a_bad_key_in_a_file_names_the_file(tmp_path: Path) -> None:
    """A mistake in a YAML file (one a user wrote, or a run's config.yaml edited by hand
    before --resume) names the file; one set by --set does not; a --set fixing the file's key
    is no mistake."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("run:\n  iteratons: 3\n")
    with pytest.raises(
        SealError, match=rf"^{re.escape(str(bad))}: unknown config key 'run.iteratons'"
    ):
        load_config(bad)
    bad.write_text("run:\n  iterations: abc\n")
    with pytest.raises(SealError, match=rf"^{re.escape(str(bad))}: config key 'run.iterations'"):
        load_config(bad)
    assert load_config(bad, {"run.iterations": 4}).run.iterations == 4
    with pytest.raises(SealError, match=r"^config key 'run.samples'"):
        load_config(bad, {"run.iterations": 4, "run.samples": "x"})
