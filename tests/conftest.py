"""Real services for the tests: our own Redis and SeaweedFS on free loopback ports.

The stack is started with the same code as `sohoa stack up`, in a temporary
state folder, with short retry and heartbeat times so fault tests finish in
seconds. Nothing is mocked: if a service cannot start, the tests fail.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from samples.documents import receipt
from samples.generate import fake_person, render_letter, render_lines, save_pages
from storage.stack import free_ports
from tests.helpers import LETTER_PAGES, Workers

STATE = Path(tempfile.mkdtemp(prefix="sohoa-test-"))
S3_PORT, REDIS_PORT = free_ports()
# SANE's virtual scanners, from sane-backends itself: `test` (flatbed and feeder of
# test pictures) and `pnm` (scans a file it is given, and fails on demand). A
# private configuration lists only them, so no network scanners are probed.
SANE_CONFIG = STATE / "sane.d"
SANE_CONFIG.mkdir()
(SANE_CONFIG / "dll.conf").write_text("test\npnm\n")
# Set before anything imports pipeline.actors, which reads the settings once.
os.environ.update(
    SOHOA_STATE_DIR=str(STATE),
    SOHOA_STACK_S3_PORT=str(S3_PORT),
    SOHOA_STACK_REDIS_PORT=str(REDIS_PORT),
    SOHOA_BROKER_HEARTBEAT_TIMEOUT_S="5",
    SOHOA_MAX_RETRIES="2",
    SOHOA_RETRY_MIN_BACKOFF_MS="200",
    SOHOA_RETRY_MAX_BACKOFF_MS="1000",
    SOHOA_OUTAGE_PATIENCE_S="240",
    OMP_THREAD_LIMIT="1",
    SANE_CONFIG_DIR=str(SANE_CONFIG),
)
for key in ("SOHOA_BROKER_URL", "SOHOA_S3_ENDPOINT", "SOHOA_S3_ACCESS_KEY", "SOHOA_S3_SECRET_KEY", "SOHOA_CONFIG"):
    os.environ.pop(key, None)


@pytest.fixture(scope="session")
def stack():
    """The running local stack; yields the settings that reach it."""
    from pipeline.settings import load_settings
    from storage import stack as local

    local.up(load_settings())
    settings = load_settings()
    yield settings
    local.down(settings)


def pytest_sessionfinish(session, exitstatus) -> None:
    """The temporary state folder goes, whether or not a test started the stack."""
    shutil.rmtree(STATE, ignore_errors=True)


@pytest.fixture(scope="session")
def workspace(stack):
    from pipeline.steps import Workspace

    return Workspace.open(stack)


@pytest.fixture(scope="module")
def workers(stack, tmp_path_factory) -> Iterator[Workers]:
    running = Workers(tmp_path_factory.mktemp("workers") / "worker.log")
    running.start()
    yield running
    running.stop()


_DOSSIERS = itertools.count(1)
_RUN = f"{random.randint(0, 999999):06d}"


@pytest.fixture
def dossier_id() -> str:
    """A fresh portal-format dossier ID for each test."""
    return f"000.00.22.H26-{_RUN}-{next(_DOSSIERS):04d}"


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, list[str]]:
    """Four dossiers as archivists find them: a folder by ID, a file by ID, a box named by its receipt, a damaged scan.

    Dossier IDs of this test only (the pages are the same in every test: IDs shared
    between tests would find their files already stored).
    """
    ids = [f"000.00.22.H26-{_RUN}-{next(_DOSSIERS):04d}" for _ in range(4)]
    rng = random.Random(21)
    letter = [render_letter(rng, 300, first=i == 0)[0] for i in range(2)]
    root = tmp_path / "kho"
    (root / ids[0]).mkdir(parents=True)
    save_pages(letter, root / ids[0] / "don.pdf", 300)
    save_pages(letter[:1], root / ids[0] / "ban-sao.png", 300)
    save_pages(letter, root / f"{ids[1]}.tif", 300)
    (root / "hop-03").mkdir()
    slip = render_lines(rng, receipt(rng, ids[2], fake_person(rng), leaders=0).pages[0], 300, 0.5, 3.0)[0]
    save_pages([slip, letter[0]], root / "hop-03" / "scan-0001.pdf", 300)
    (root / ids[3]).mkdir()
    (root / ids[3] / "hong.pdf").write_bytes(b"%PDF-1.4 nothing more")
    return root, ids


@pytest.fixture(scope="session")
def letter(tmp_path_factory) -> Path:
    """One two-page letter TIFF; each dossier of a test archive gets a copy (helpers.make_archive)."""
    rng = random.Random(8)
    path = tmp_path_factory.mktemp("letter") / "thu.tif"
    save_pages([render_letter(rng, 300, first=i == 0)[0] for i in range(LETTER_PAGES)], path, 300)
    return path
