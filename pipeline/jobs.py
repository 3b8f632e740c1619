"""Batch jobs: an archive handed in as one resumable job, followed to the end, and reported.

A job is planned once from its SOURCE (a folder of dossier folders or files,
or a CSV of `dossier_id,path[,procedure]`) into numbered items, each a file
and the dossier it belongs to (None: its receipt names it). The plan is
stored in the staging bucket, under `_jobs/` (no dossier ID starts with
`_`), before anything is handed in; handing in an item records where its
stack went. Resuming hands in only the items not yet handed in: a stack
already received is queued in the broker or done, and a file handed in
twice is the same stack anyway (pipeline.dossier.stack_id). A job's state is
read from the staging area, its report from the dossiers' manifests.
"""

from __future__ import annotations

import csv
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline import dossier as keys
from pipeline.steps import Workspace

JOBS = "_jobs"


class JobError(ValueError):
    """The job's source or ID cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Item:
    number: int
    path: str
    dossier_id: str | None  # None: the receipt in the file names the dossier


def job_key(job_id: str, name: str = "job.json") -> str:
    return f"{JOBS}/{job_id}/{name}"


def item_key(job_id: str, number: int) -> str:
    return job_key(job_id, f"item-{number:06d}.json")


def plan(source: Path, dossier_pattern: str) -> list[Item]:
    """The job's items, in a stable order, from a folder or a CSV file.

    Folder: each sub-folder is a dossier (its name, when it matches the dossier
    pattern, is the ID) and each of its files an item; each file at the top is
    an item whose name gives the ID, if it holds one. Without an ID, the
    receipt in the file names the dossier.
    """
    if source.is_file() and source.suffix.lower() == ".csv":
        return list(_from_csv(source))
    if not source.is_dir():
        raise JobError(f"{source}: give a folder (one sub-folder or file per dossier) or a .csv file")
    pattern = re.compile(dossier_pattern)

    def named(name: str) -> str | None:
        found = pattern.search(name)
        return found.group("dossier") if found else None

    items: list[Item] = []
    for entry in sorted(source.iterdir()):
        if entry.name.startswith("."):
            continue
        files = sorted(p for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else [entry]
        for path in files:
            items.append(Item(len(items), str(path.resolve()), named(entry.name)))
    if not items:
        raise JobError(f"{source}: no files in it")
    return items


def _from_csv(source: Path) -> Iterator[Item]:
    with open(source, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    if rows and rows[0][0].strip().lower() == "dossier_id":
        rows = rows[1:]
    for number, row in enumerate(rows):
        if len(row) < 2:
            raise JobError(f"{source}, line {number + 1}: write dossier_id,path[,procedure]")
        dossier_id, path = row[0].strip(), Path(row[1].strip())
        try:
            keys.check_dossier_id(dossier_id)
        except keys.InvalidDossierId as exc:
            raise JobError(f"{source}, line {number + 1}: {exc}") from None
        yield Item(number, str((source.parent / path).resolve()), dossier_id)


def create(ws: Workspace, source: Path, items: list[Item], created_at: str) -> dict:
    """Store the job's plan; returns it. Its ID is the time it was made, readable in a list."""
    job_id = "job-" + time.strftime("%Y%m%d-%H%M%S") + f"-{time.time_ns() % 10_000:04d}"
    job = {"job_id": job_id, "source": str(source.resolve()), "created_at": created_at,
           "items": [{"number": i.number, "path": i.path, "dossier_id": i.dossier_id} for i in items]}
    ws.staging.put_json(job_key(job_id), job)
    return job


def load(ws: Workspace, job_id: str) -> dict:
    job = ws.staging.get_json_or_none(job_key(job_id)) if re.fullmatch(r"job-[0-9-]+", job_id) else None
    if job is None:
        raise JobError(f"no job {job_id}: `sohoa jobs list` shows the jobs there are")
    return job


def job_ids(ws: Workspace) -> list[str]:
    return sorted({key.split("/")[1] for key in ws.staging.keys(f"{JOBS}/")})


def handed_in(ws: Workspace, job_id: str) -> dict[int, dict]:
    """The items already handed in, by number: where their stacks went."""
    found = {}
    for key in ws.staging.keys(f"{JOBS}/{job_id}/item-"):
        entry = ws.staging.get_json(key)
        found[entry["number"]] = entry
    return found


def hand_in_pending(ws: Workspace, job: dict, done: dict[int, dict], hand_in: Callable[[str | None, Path], object],
                    on_item: Callable[[dict], None]) -> None:
    """Hand in every item not in `done` (from `handed_in`), recording each and adding it to `done`.

    `hand_in` is pipeline.counter.hand_in_file. Called again after a fault,
    it goes on from the item that had not been recorded.
    """
    for item in job["items"]:
        if item["number"] in done:
            continue
        path = Path(item["path"])
        if not path.is_file():
            entry = dict(item, home=item["dossier_id"], stack_id=None, pages=0,
                         refused={"file": item["path"], "page": None, "reason": "the file is gone",
                                  "hint": "Put it back and resume the job."})
        else:
            received = hand_in(item["dossier_id"], path)
            entry = dict(item, home=received.dossier_id, stack_id=received.stack_id, pages=received.pages,
                         refused=received.problem.as_dict() if received.problem else None)
        ws.staging.put_json(item_key(job["job_id"], item["number"]), entry)
        done[item["number"]] = entry
        on_item(entry)


@dataclass
class Progress:
    items: int
    handed_in: int
    pages: int  # of the stacks handed in
    pages_read: int
    finished: int  # stacks stored or failed
    failed: int
    refused: int  # items refused at hand-in (not a scan, damaged, gone)

    @property
    def complete(self) -> bool:
        return self.handed_in == self.items and self.finished + self.refused >= self.items


def progress(ws: Workspace, job: dict, entries: dict[int, dict], finished: dict[int, bool],
             window: int | None = None) -> Progress:
    """Where the job stands, from one listing per stack looked at.

    `finished` keeps the stacks seen ended (number -> failed), so what is done
    is never listed again. With `window`, only that many of the other stacks
    are looked at, the first in hand-in order: the workers take them in about
    that order, so those further on have barely begun, and a poll of a large
    job costs the same as one of a small job.
    """
    pages_read = 0
    pending = [n for n in sorted(entries) if not entries[n]["refused"] and n not in finished]
    for number in pending[:window]:
        entry = entries[number]
        names = {key.rsplit("/", 1)[1] for key in ws.staging.keys(keys.staging_prefix(entry["home"], entry["stack_id"]))}
        if {"done.json", "error.json"} & names:
            finished[number] = "error.json" in names
        else:
            pages_read += sum(1 for name in names if name.endswith(".ocr.json"))
    pages_read += sum(entries[n]["pages"] for n in finished)
    return Progress(items=len(job["items"]), handed_in=len(entries), pages=sum(e["pages"] for e in entries.values()),
                    pages_read=pages_read, finished=len(finished), failed=sum(finished.values()),
                    refused=sum(1 for entry in entries.values() if entry["refused"]))


def report(ws: Workspace, job: dict) -> list[dict]:
    """One row per dossier the job touched: documents, pages, types, status, reasons, checksums."""
    entries = handed_in(ws, job["job_id"])
    dossiers = list(dict.fromkeys(e["home"] for e in entries.values() if e["home"]))
    rows, seen = [], set()
    while dossiers:
        dossier_id = dossiers.pop(0)
        if dossier_id in seen:
            continue
        seen.add(dossier_id)
        manifest = ws.records.get_json_or_none(keys.manifest_key(dossier_id)) or {"status": "processing"}
        dossiers += [m["dossier_id"] for m in manifest.get("moved", [])]
        documents = manifest.get("documents", [])
        rows.append({
            "dossier_id": dossier_id, "status": manifest["status"], "documents": len(documents),
            "pages": sum(d["page_count"] for d in documents),
            "types": [d["doc_type"] for d in documents],
            "reasons": [r["reason"] for r in manifest.get("reasons", [])],
            "files": sorted({e["path"] for e in entries.values() if e["home"] == dossier_id}),
            "sha256": [d["sha256"] for d in documents],
        })
    for entry in entries.values():
        if entry["refused"] and not entry["home"]:
            rows.append({"dossier_id": None, "status": "failed", "documents": 0, "pages": 0, "types": [],
                         "reasons": [entry["refused"]["reason"]], "files": [entry["path"]], "sha256": []})
    return rows
