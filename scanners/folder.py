"""Scan-to-folder copiers: files dropped in a shared folder are digitized into their dossier.

A file is taken once it has stopped growing (same size and modification time
for `settle_s`), so a copier still writing it is left alone. The dossier ID
comes from the file's path (its folder or its name) by a pattern from the
settings or, failing that, from the receipt's QR code on its first page. Taken files move to the done folder; refused ones to the error
folder beside a `.txt` saying why. A file leaves the inbox only after it is
stored in staging, so a watcher killed at any moment loses nothing, and a file
taken twice is the same document (its ID is its checksum), never a duplicate.

The folder is polled rather than watched with inotify: scan-to-folder shares
are usually SMB or NFS mounts, where inotify sees nothing.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"}


@dataclass(frozen=True)
class Outcome:
    """What happened to one file of the inbox."""

    path: str  # where it was found, relative to the inbox
    dossier_id: str | None
    moved_to: str
    reason: str | None = None  # why it was refused; None when taken


class FolderInbox:
    """One inbox folder with its done and error folders."""

    def __init__(self, inbox: Path, done: Path, error: Path, dossier_pattern: str, settle_s: float,
                 code_in_file: Callable[[Path], str | None] = lambda path: None) -> None:
        self.inbox, self.done, self.error = inbox, done, error
        self.pattern = re.compile(dossier_pattern)
        self.code_in_file = code_in_file  # reads a dossier code from the file itself (its receipt)
        self.settle_s = settle_s
        self._seen: dict[Path, tuple[int, float, float]] = {}  # path -> size, mtime, first seen unchanged

    def waiting(self) -> list[Path]:
        """Every file in the inbox not yet taken, hidden files aside."""
        return sorted(
            path for path in self.inbox.rglob("*")
            if path.is_file() and not path.name.startswith(".")
            and self.done not in path.parents and self.error not in path.parents
        )

    def ready_files(self) -> list[Path]:
        """Files that have stopped growing, in name order."""
        now = time.monotonic()
        ready = []
        for path in self.waiting():
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime)
            previous = self._seen.get(path)
            if previous is None or previous[:2] != signature:
                self._seen[path] = (*signature, now)
                continue
            if now - previous[2] >= self.settle_s:
                ready.append(path)
        return ready

    def dossier_of(self, path: Path) -> str | None:
        """From the file's folder or name, else from its content (a receipt's QR code)."""
        match = self.pattern.search(str(path.relative_to(self.inbox)))
        if match:
            return match.group("dossier")
        return self.code_in_file(path) if path.suffix.lower() in SUFFIXES else None

    def take(self, path: Path, digitize: Callable[[str, Path], str | None]) -> Outcome:
        """Hand one ready file to `digitize(dossier_id, path)` (which returns a refusal or None), then file it."""
        relative = path.relative_to(self.inbox)
        self._seen.pop(path, None)
        dossier_id = self.dossier_of(path)
        if path.suffix.lower() not in SUFFIXES:
            reason = f"not a scan ({path.suffix or 'no extension'}): copiers send PDF, TIFF, JPEG or PNG"
        elif dossier_id is None:
            reason = (f"no dossier ID in {relative} and no receipt QR code on its first page: "
                      "name the file or its folder after the dossier ID, or scan the receipt first")
        else:
            reason = digitize(dossier_id, path)
        target_root = self.error if reason else self.done
        target = target_root / (dossier_id or "unknown") / relative.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target = target.with_name(f"{target.stem}-{time.time_ns()}{target.suffix}")
        shutil.move(str(path), target)
        if reason:
            target.with_name(target.name + ".txt").write_text(reason + "\n", encoding="utf-8")
        return Outcome(str(relative), dossier_id, str(target), reason)
