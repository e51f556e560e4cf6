"""`fttrain` CLI: help for every command (generated from RunSpec), clear errors without the training extra."""

import importlib.util

from typer.testing import CliRunner

from fttrain.cli import app
from fttrain.spec import CLI_FIELDS

runner = CliRunner()


def test_every_registered_command_has_help_and_every_option_is_a_flag() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readme = "\n".join(p.read_text() for p in [root / "README.md", *sorted((root / "docs").rglob("*.md"))])
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"sft", "dpo", "kto", "env"} <= set(names)
    for name in names:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0 and f"Example: fttrain {name}" in result.output, name
        assert f"fttrain {name}" in readme, name
    for stage in ("sft", "dpo", "kto"):
        result = runner.invoke(app, [stage, "--help"])
        for name in CLI_FIELDS:
            assert "--" + name.replace("_", "-") in result.output, name


def test_missing_training_extra_says_what_to_install(monkeypatch, tmp_path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real(name, *a))
    result = runner.invoke(app, ["sft", str(tmp_path / "dataset_info.json")])
    assert result.exit_code == 2
    assert "training needs trl; install the training extra: pip install torch==2.13.0 && pip install 'ftdata[train]'" in result.output


def test_bad_option_values_exit_2(tmp_path) -> None:
    result = runner.invoke(app, ["sft", str(tmp_path / "x.json"), "--method", "magic"])
    assert result.exit_code == 2 and "--method 'magic': Input should be 'lora', 'qlora', 'full' or 'freeze'" in result.output


def test_yaml_config_and_flags_override_it(tmp_path) -> None:
    from fttrain.spec import load_spec

    cfg = tmp_path / "run.yaml"
    cfg.write_text("method: qlora\nlora-rank: 64\nlora_alpha: 16\noptim: paged_adamw_32bit\ntrl:\n  neftune_noise_alpha: 5\n")
    spec = load_spec({"lora_rank": 8, "method": None}, cfg)
    assert (spec.method, spec.lora_rank, spec.lora_alpha, spec.optim) == ("qlora", 8, 16, "paged_adamw_32bit")
    assert spec.trl == {"neftune_noise_alpha": 5}


def test_version_floors_are_what_the_code_needs_and_the_tests_run() -> None:
    """Options mean the same on every version allowed: warmup < 1 is a ratio only on transformers 5, DPO/KTO rows
    mirror trl 1.16's preparation, torch.accelerator needs torch 2.6."""
    import tomllib
    from importlib import metadata
    from pathlib import Path

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    train = {r.name: r for r in map(Requirement, project["project"]["optional-dependencies"]["train"])}
    needs = {"transformers": "5.24", "trl": "1.16", "torch": "2.6", "peft": "0.21"}
    for name, floor in needs.items():
        lowest = min(Version(s.version) for s in train[name].specifier if s.operator == ">=")
        assert lowest >= Version(floor), name
        assert train[name].specifier.contains(metadata.version(name).split("+")[0]), name


def test_runs_never_reach_for_the_hub_nor_its_kernels(monkeypatch, tmp_path) -> None:
    """transformers with `kernels` installed fetches hub kernels on a GPU; offline that stops the run (seen on an H200)."""
    import os

    monkeypatch.delenv("USE_HUB_KERNELS", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    data = tmp_path / "chat.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n')
    assert runner.invoke(app, ["sft", str(data), "--dry-run"]).exit_code == 0
    assert os.environ.get("HF_HUB_OFFLINE") == "1" and os.environ.get("USE_HUB_KERNELS") == "0"
    monkeypatch.setenv("USE_HUB_KERNELS", "1")  # the user's choice stands
    runner.invoke(app, ["sft", str(data), "--dry-run"])
    assert os.environ["USE_HUB_KERNELS"] == "1"


def test_cache_of_a_missing_source_is_a_usage_error(tmp_path) -> None:
    result = runner.invoke(app, ["cache", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_the_bundled_models_have_names_a_pip_install_can_use(tmp_path, monkeypatch) -> None:
    """A probe found no way to name the bundled vision-language model outside a checkout."""
    from pathlib import Path

    from fttrain.spec import load_spec

    monkeypatch.chdir(tmp_path)
    for name in ("tiny-llava", "tiny-qwen2"):
        folder = Path(load_spec({"model": name}, None).model)
        assert folder.is_absolute() and (folder / "config.json").is_file() and folder.name == name
    (tmp_path / "tiny-llava").mkdir()  # a folder of that name here wins
    assert load_spec({"model": "tiny-llava"}, None).model == "tiny-llava"
