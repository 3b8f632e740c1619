"""Helpers the tests share for running sohoa's own commands and workers (no side effects on import)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

SOHOA = str(Path(sys.executable).parent / "sohoa")
LETTER_PAGES = 2  # the `letter` fixture's TIFF


class Workers:
    """`sohoa worker` processes, started and stopped by the tests."""

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None

    def start(self, processes: int = 2) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [SOHOA, "worker", "--processes", str(processes)], stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=self.env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with open(self.log, "rb") as handle:
                handle.seek(offset)
                if handle.read().count(b"ready for action") >= processes:
                    return
            if self.process.poll() is not None:
                raise RuntimeError(f"sohoa worker exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"sohoa worker not ready in 60 s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker process group, as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def run_sohoa(*args: str, timeout: int = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SOHOA, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def wait_until(condition, seconds: float, what: str):
    """The first true value of `condition()`, polled every 0.2 s; an AssertionError naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def pages_read(workspace, dossier_ids: list[str]) -> int:
    """Pages read so far in these dossiers' stacks, from the staging area."""
    return sum(1 for dossier_id in dossier_ids for key in workspace.staging.keys(f"{dossier_id}/")
               if key.endswith(".ocr.json"))


def assert_stored_once(workspace, dossier_id: str, pages: int | None = None) -> dict:
    """The dossier's manifest, after checking each document is stored once and each page once, in order."""
    manifest = workspace.records.get_json(f"{dossier_id}/manifest.json")
    stored = sorted(k for k in workspace.records.keys(f"{dossier_id}/") if k.endswith(".pdf"))
    assert stored == sorted(d["pdf_key"] for d in manifest["documents"]), (stored, manifest["documents"])
    for entry in manifest["documents"]:
        record = workspace.records.get_json(entry["json_key"])
        source_pages = [p["source"]["page"] for p in record["pages"]]
        assert source_pages == sorted(set(source_pages)), source_pages
    if pages is not None:
        assert sum(d["page_count"] for d in manifest["documents"]) == pages
    return manifest


_RUN = f"{random.randint(0, 999999):06d}"
_next = iter(range(1, 10_000))


def make_archive(root: Path, letter: Path, dossiers: int = 6) -> list[str]:
    """A folder per dossier, named by a fresh portal code, holding the letter; returns the codes."""
    ids = [f"000.00.22.H27-{_RUN}-{next(_next):04d}" for _ in range(dossiers)]
    for dossier_id in ids:
        (root / dossier_id).mkdir(parents=True)
        (root / dossier_id / "thu.tif").write_bytes(letter.read_bytes())
    return ids


def start_batch(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`sohoa ARGS` in the background, its output kept for `finish`."""
    return subprocess.Popen([SOHOA, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def finish(batch: subprocess.Popen, timeout: int = 400) -> tuple[int, dict, str]:
    """The exit code, the --json answer and stderr on one line, of a command from `start_batch`."""
    stdout, stderr = batch.communicate(timeout=timeout)
    return batch.returncode, json.loads(stdout) if stdout.strip() else {}, " ".join(stderr.split())


def job_through_killed_workers(workspace, source: Path, ids: list[str], logs: Path,
                               env: dict[str, str] | None = None) -> tuple[int, dict, str]:
    """`sohoa batch SOURCE --json` on two workers SIGKILLed after its first pages, then on two new ones; `finish`."""
    first = Workers(logs / "first.log", env)
    first.start(processes=2)
    batch = start_batch("batch", str(source), "--json", env=env)
    try:
        wait_until(lambda: pages_read(workspace, ids) >= 2, 180, "the first pages to be read")
        first.kill()  # SIGKILL, as the OOM killer would
        assert not all_pages_read(workspace, ids), "the job ended before the kill: nothing was tested"
        second = Workers(logs / "second.log", env)
        second.start(processes=2)
        try:
            return finish(batch)
        finally:
            second.stop()
    finally:
        batch.kill()


def all_pages_read(workspace, ids: list[str]) -> bool:
    """Whether every page of an archive of `make_archive` letters has been read."""
    return pages_read(workspace, ids) >= len(ids) * LETTER_PAGES


def assert_job_stored_once(workspace, ids: list[str], code: int, answer: dict, stderr: str) -> None:
    """The job of `make_archive` letters ended well: exit 0, every dossier complete, each page stored once."""
    assert code == 0, stderr
    assert [row["status"] for row in answer["dossiers"]] == ["complete"] * len(ids)
    for dossier_id in ids:
        assert_stored_once(workspace, dossier_id, pages=LETTER_PAGES)
