import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# fttrain's tokenized cache defaults to a folder beside the data: the suite's runs on fixtures/ keep it out of the
# checkout (tests of the default location unset this themselves)
os.environ.setdefault("FTTRAIN_CACHE_DIR", tempfile.mkdtemp(prefix="fttrain-cache-tests-"))

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
FIXTURES = ROOT / "fixtures" / "data"
SHARED = ROOT.parent / "shared" / "data"
UPSTREAM = ROOT / "fixtures" / "upstream"


def fixture_files(pattern: str) -> list[Path]:
    """The fixture data files matching `pattern`, in order; hidden folders left out (fttrain's default cache,
    `.fttrain-cache`, lands beside the data a README example trains on)."""
    return sorted(p for p in FIXTURES.rglob(pattern)
                  if not any(part.startswith(".") for part in p.relative_to(FIXTURES).parts))


@pytest.fixture
def shared() -> Path:
    """The shared real-data folder beside the checkout; tests using it skip in a user's clone."""
    if not SHARED.is_dir():
        pytest.skip("../shared/data is absent (only in the project workspace)")
    return SHARED


@pytest.fixture
def upstream() -> Path:
    """Slices of the shared folder in its layout (fixtures/upstream): the real-sample tests run in a clone too."""
    return UPSTREAM
