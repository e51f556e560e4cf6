"""scripts/install.sh picks torch's index as a fresh machine needs it (no network: DRY_RUN prints the commands)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = "http://127.0.0.1:9/whl/cpu"  # the discard port: refused at once


@pytest.fixture
def cpu_index(tmp_path: Path) -> Iterator[str]:
    """A local web server standing in for the CPU wheel index."""
    (tmp_path / "whl" / "cpu").mkdir(parents=True)
    (tmp_path / "whl" / "cpu" / "index.html").write_text("<a href='torch/'>torch</a>")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()


def _install(tmp_path: Path, tools: dict[str, str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run the script in a dry run with only `tools` (fake commands) and grep on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    os.symlink(shutil.which("grep") or "/bin/grep", bin_dir / "grep")
    for name, body in tools.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    base = {"PATH": str(bin_dir), "PYTHON": sys.executable, "DRY_RUN": "1", "HOME": os.environ.get("HOME", str(tmp_path)),
            "NVIDIA_PROC": str(tmp_path / "no-driver"), "TORCH_CPU_INDEX": UNREACHABLE}
    return subprocess.run([shutil.which("bash") or "/bin/bash", str(ROOT / "scripts" / "install.sh"), "train",
                           str(tmp_path / "venv")], env=base | env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def test_without_a_gpu_torch_comes_from_the_cpu_index_when_it_answers(tmp_path: Path, cpu_index: str) -> None:
    done = _install(tmp_path, {}, TORCH_CPU_INDEX=cpu_index)
    assert done.returncode == 0, done.stderr
    assert "no GPU: CPU torch from" in done.stderr
    torch_line = next(line for line in done.stdout.splitlines() if "torch==2.13.0" in line)
    assert f"--index-url {cpu_index}" in torch_line
    assert "-e .[train]" in done.stdout and "torchvision" not in done.stdout


def test_without_a_gpu_or_the_cpu_index_torch_comes_from_the_default_index_and_says_so(tmp_path: Path) -> None:
    done = _install(tmp_path, {})
    assert done.returncode == 0, done.stderr
    assert "does not answer: torch from the default index" in done.stderr
    torch_line = next(line for line in done.stdout.splitlines() if "torch==2.13.0" in line)
    assert "--index-url" not in torch_line


def test_a_gpu_seen_by_nvidia_smi_keeps_the_default_cuda_index(tmp_path: Path, cpu_index: str) -> None:
    gpu = "echo 'GPU 0: NVIDIA H200 (UUID: GPU-0)'"
    done = _install(tmp_path, {"nvidia-smi": gpu}, TORCH_CPU_INDEX=cpu_index)
    assert done.returncode == 0, done.stderr
    assert "GPU found" in done.stderr and "--index-url" not in done.stdout


def test_a_driver_without_nvidia_smi_counts_and_a_failing_nvidia_smi_does_not(tmp_path: Path, cpu_index: str) -> None:
    failing = _install(tmp_path, {"nvidia-smi": "echo 'NVIDIA-SMI has failed' >&2; exit 9"},
                       TORCH_CPU_INDEX=cpu_index)
    assert "no GPU: CPU torch" in failing.stderr
    (tmp_path / "driver").mkdir()
    shutil.rmtree(tmp_path / "bin")
    driver = _install(tmp_path, {}, NVIDIA_PROC=str(tmp_path / "driver"), TORCH_CPU_INDEX=cpu_index)
    assert "GPU found" in driver.stderr


def test_torch_index_overrides_and_uv_is_used_when_installed_with_pips_local_wheels(tmp_path: Path) -> None:
    fake_uv = "exit 0"
    done = _install(tmp_path, {"uv": fake_uv}, TORCH_INDEX="https://example.invalid/whl")
    assert done.returncode == 0, done.stderr
    assert "installing with uv" in done.stderr
    torch_line = next(line for line in done.stdout.splitlines() if "torch==2.13.0" in line)
    assert torch_line.startswith("+ uv pip install") and "--index-url https://example.invalid/whl" in torch_line
    env = {"HOME": os.environ.get("HOME", ""), "PATH": os.environ.get("PATH", "")}
    pip_links = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"], env=env,
                               capture_output=True, text=True).stdout.split()
    assert all(f"--find-links {link}" in torch_line for link in pip_links)
    # pip's rule (best version across every index), not uv's first-index rule: a mirror with an older
    # transformers listed first made the real install fail
    package_line = next(line for line in done.stdout.splitlines() if "-e .[" in line)
    assert all("--index-strategy unsafe-best-match" in line for line in (torch_line, package_line))
    (tmp_path / "again").mkdir()
    with_pip = _install(tmp_path / "again", {"uv": fake_uv}, INSTALLER="pip")
    assert "installing with pip" in with_pip.stderr and "uv pip" not in with_pip.stdout
