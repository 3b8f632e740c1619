"""The `sohoa` command: digitize dossiers, run workers, manage the local stack.

Typical use: `sohoa stack up`, `sohoa worker &`, then
`sohoa ingest scan.pdf --dossier 000.00.22.H26-250305-0001 --wait`.
Settings come from config/settings.yaml and SOHOA_* environment variables.

\b
Exit codes (for scripts):
  0  done: every file digitized (or, without --wait, handed to the workers)
  2  wrong usage: unknown option, invalid dossier ID
  3  needs review: a file or page was refused, or a document's type or
     fields need a person's eye (see the manifest's reasons); the rest is stored
  4  failed: nothing of the dossier could be digitized
  5  a service is unreachable: S3 server or broker (a batch job waits
     `outage_patience_s` for one that goes away mid-job before it gives up),
     or the broker refuses the user name or password of broker_url
  6  --wait ran out of time before the dossier was finished
  7  storage full: the S3 server refuses to store (disk full, bucket quota
     reached); what was handed in is kept: free space, run the command again
  130  stopped with Ctrl-C (a batch job: resume it with `sohoa jobs resume JOB`)
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)
from rich.table import Table

from pipeline import dossier as keys
from pipeline import outage
from pipeline.settings import Settings, SettingsError, load_settings

EXIT_OK, EXIT_USAGE, EXIT_REVIEW, EXIT_FAILED, EXIT_UNREACHABLE, EXIT_TIMEOUT, EXIT_STORAGE_FULL = 0, 2, 3, 4, 5, 6, 7
EXIT_INTERRUPTED = 130
STATUS_EXIT = {"complete": EXIT_OK, "needs_review": EXIT_REVIEW, "failed": EXIT_FAILED, "processing": EXIT_TIMEOUT}

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def fail(message: str, code: int) -> None:
    err.print(f"[bold red]error:[/] {message}")
    sys.exit(code)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), EXIT_USAGE)
        raise  # unreachable: fail exits


def workspace_or_exit(settings: Settings):
    from pipeline.steps import Workspace  # imported late: `sohoa stack` needs none of it

    try:
        return Workspace.open(settings)
    except Exception as exc:  # minio raises urllib3, S3 and runtime errors alike
        fail(f"cannot reach the S3 server at {settings.s3_address} ({exc}).\n"
             "Start the local stack with `sohoa stack up`, or set SOHOA_S3_ENDPOINT and its keys.",
             EXIT_UNREACHABLE)


def dossier_id_or_exit(value: str) -> str:
    try:
        return keys.check_dossier_id(value)
    except keys.InvalidDossierId as exc:
        fail(str(exc), EXIT_USAGE)
        raise


def emit_json(value: object) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


class Commands(click.Group):
    """Every command: a service that goes away or storage that fills up mid-command ends it with a sentence
    and exit code 5 or 7, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if outage.login_refused(exc):
                fail(f"the broker refuses the user name or password of broker_url ({exc!r}): "
                     "check SOHOA_BROKER_URL or config/settings.yaml", EXIT_UNREACHABLE)
            found = outage.kind(exc)
            if found is None:
                raise
            again = ("free space on the S3 server (or raise the bucket's quota), then run the same command again"
                     if found == outage.REFUSING else
                     "run the same command again once both are up (`sohoa stack status`)")
            fail(f"{outage.describe(exc)}.\nWhat was handed in is kept in staging: {again}.",
                 EXIT_STORAGE_FULL if found == outage.REFUSING else EXIT_UNREACHABLE)


@click.group(cls=Commands, help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sohoa")
@click.option("-v", "--verbose", is_flag=True, help="Log what each step does (no personal data at INFO).")
def main(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dossier", "dossier_id",
              help="Dossier ID, e.g. 000.00.22.H26-250305-0001. Without it, each file's receipts name its dossiers.")
@click.option("--wait", is_flag=True, help="Wait until the dossier is stored, showing progress.")
@click.option("--timeout", default=1800, show_default=True, help="Seconds --wait waits at most.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (for scripts).")
def ingest(files: tuple[Path, ...], dossier_id: str | None, wait: bool, timeout: int, as_json: bool) -> None:
    """Digitize FILES (PDF, TIFF, JPEG, PNG) into the dossier.

    Each file is a stack of pages: the workers split it into documents, type
    them (config/document-types.yaml) and read their fields. A receipt in the
    stack names its dossier; a stack of several dossiers, each starting with
    its receipt, is split into them. A receipt that contradicts --dossier is
    flagged for review, never merged silently. Files that cannot be read are
    reported with the reason and kept out; the others go on. A file already
    stored in the dossier is not done again. Workers (`sohoa worker`) do the
    work; --wait follows it to the end.
    """
    from pipeline import steps
    from pipeline.counter import hand_in_file

    dossier_id = dossier_id_or_exit(dossier_id) if dossier_id is not None else None
    settings = settings_or_exit()
    ws = workspace_or_exit(settings)
    received, refused = [], []
    for path in files:
        if not path.is_file():
            refused.append({"file": str(path), "reason": "no such file", "hint": "Check the path."})
            if not as_json:
                err.print(f"[red]{path}: no such file[/]")
            continue
        item = hand_in_file(ws, dossier_id, path)
        if item.problem:
            refused.append(item.problem.as_dict())
        received.append(item)
        if not as_json:
            state = "refused" if item.problem else "already stored" if item.already_stored else f"{item.pages} page(s) queued"
            out.print(f"{path.name}: {state}" + (f" ({item.problem})" if item.problem else ""))
    homes = list(dict.fromkeys(item.dossier_id for item in received))
    manifests = {home: steps.publish_manifest(ws, home) for home in homes}
    if wait:
        queued = [item for item in received if not item.problem and not item.already_stored]
        manifests = wait_for(ws, homes, [i.stack_id for i in queued], sum(i.pages for i in queued), timeout,
                             show_progress=not as_json and err.is_terminal)
    statuses = [m["status"] for m in manifests.values()]
    code = max((STATUS_EXIT[s] for s in statuses), default=EXIT_FAILED) if wait else \
        (EXIT_REVIEW if refused else EXIT_OK)
    if as_json:
        given = manifests.get(dossier_id) if dossier_id else None
        emit_json({"dossier_id": dossier_id, "status": given["status"] if given else None, "refused": refused,
                   "manifest": given if wait else None,
                   "dossiers": [{"dossier_id": d, "status": m["status"], "manifest": m if wait else None}
                                for d, m in manifests.items()]})
    elif wait:
        for manifest in manifests.values():
            show_manifest(manifest, settings)
    sys.exit(code)


def wait_for(ws, homes: list[str], stacks: list[str], pages: int, timeout: int, show_progress: bool) -> dict:
    """Follow the dossiers until their manifests are final (or time is up), with a bar of pages read.

    A stack whose receipts name other dossiers is followed into them too:
    the result holds every dossier the files went to, in the order met.
    """
    from pipeline import steps

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=not show_progress, transient=True) as progress:
        task = progress.add_task("pages read", total=pages)

        def count_read() -> None:
            read = sum(1 for home in homes for key in ws.staging.keys(keys.staging_prefix(home))
                       if key.endswith(".ocr.json") and key.split("/")[1] in stacks)
            progress.update(task, completed=read)

        return steps.final_manifests(ws, homes, timeout, count_read)


def show_manifest(manifest: dict, settings: Settings) -> None:
    """The dossier for the counter: each document's type and fields, then what to check or re-scan."""
    colour = {"complete": "green", "needs_review": "yellow", "failed": "red"}.get(manifest["status"], "blue")
    dossier_id = manifest.get("dossier_id", "")
    out.print(f"Dossier [bold]{dossier_id}[/]: [{colour}]{manifest['status']}[/]")
    table = Table("source file", "pages", "document", "type", "confidence", "fields read")
    for doc in manifest.get("documents", []):
        pages = ", ".join(str(p + 1) for p in doc["source"].get("pages", []))
        table.add_row(doc["source"]["name"], pages, doc["document_id"], doc["doc_type"],
                      f"{doc.get('doc_type_confidence', 0):.2f}", ", ".join(doc.get("fields", [])) or "-")
    out.print(table)
    for moved in manifest.get("moved", []):
        out.print(f"[blue]moved[/] {moved['file']}: document {moved['document_id']} went to dossier "
                  f"{moved['dossier_id']} (its receipt)")
    for page in manifest.get("skipped_pages", []):
        out.print(f"[blue]skipped[/] {page['file']} page {page['page'] + 1}: {page['reason']}")
    for warning in manifest.get("warnings", []):
        out.print(f"[yellow]check[/] {warning['file']} page {warning['page'] + 1}: {warning['message']}")
    for reason in manifest.get("reasons", []):
        page = f" page {reason['page'] + 1}" if reason.get("page") is not None else ""
        where = reason.get("file") or reason.get("stack_id")
        out.print(f"[yellow]review[/] {where}{page}: {reason['reason']}. {reason['hint']}")
    out.print(f"Stored as s3://{settings.bucket}/{dossier_id}/ (manifest.json, DOCUMENT.pdf, DOCUMENT.json) "
              f"on http://{settings.s3_address}")
    out.print(f"Fetch it: sohoa fetch {dossier_id} --out DIR, or with any S3 client")


@main.command()
@click.option("--dossier", "dossier_id",
              help="Dossier ID printed on the receipt. Without it, the receipts in the stack name the dossiers.")
@click.option("--device", help="SANE device name (default from settings: the first scanner found).")
@click.option("--source", type=click.Choice(["adf", "adf-duplex", "flatbed"]), help="Where the papers are.")
@click.option("--dpi", type=int, help="Scan resolution (default from settings).")
@click.option("--page-size", type=click.Choice(["a4", "a5", "letter", "legal"]), help="Scan area (default a4).")
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait for the pages to be read.")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE",
              help="A further SANE option of the device, e.g. page-height=297 (repeatable).")
@click.option("--list", "list_only", is_flag=True, help="List the scanners and what they offer, then stop.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line for each event (for a front end).")
def scan(dossier_id: str | None, device: str | None, source: str | None, dpi: int | None, page_size: str | None,
         timeout: int, options: tuple[str, ...], list_only: bool, as_json: bool) -> None:
    """Scan papers into the dossier, showing each page as it is captured and read.

    Pages enter the pipeline as they come off the scanner; at the end the
    documents found are shown with their types and the fields read, and what
    to check or re-scan. A paper jam, an empty feeder or a scanner that stops
    answering is reported with what to do; the pages already captured are
    kept, and running the command again adds the rest to the same dossier.
    """
    from pipeline.counter import scan_into_dossier
    from scanners.sane_scanner import SaneScanner, list_devices

    if list_only:
        devices = list_devices()
        if as_json:
            emit_json(devices)
        for entry in [] if as_json else devices:
            out.print(f"{entry['name']}: {entry['vendor']} {entry['model']} ({entry['type']}); "
                      f"sources {entry.get('source', ['flatbed'])}, modes {entry.get('mode', [])}")
        return
    dossier_id = dossier_id_or_exit(dossier_id) if dossier_id is not None else None
    settings = settings_or_exit()
    ws = workspace_or_exit(settings)

    def event(kind: str, **fields) -> None:
        if as_json:
            click.echo(json.dumps({"event": kind, "dossier_id": dossier_id, **fields}, ensure_ascii=False))
        elif kind == "captured":
            out.print(f"page {fields['page'] + 1} captured")
        elif kind == "read":
            notes = "; ".join(w["message"] for w in fields["warnings"]) or "ok"
            role = {"start": f"starts a document: {fields['doc_type']}", "continue": "continues the document",
                    "blank": "blank, left out", "separator": "separator sheet, left out"}[fields["role"]]
            out.print(f"page {fields['page'] + 1} read (confidence {fields['confidence']:.0f}), {role}: {notes}")
        elif kind == "fault":
            err.print(f"[bold red]{fields['reason']}[/]. {fields['hint']}")

    name = device or settings.scanner_device
    if not name:
        from scanners.sane_scanner import sane
        sane.init()
        found = sane.get_devices()
        if not found:
            fail("no scanner found: check its cable and power (sohoa scan --list)", EXIT_UNREACHABLE)
        name = found[0][0]
    if any("=" not in option for option in options):
        fail("--option takes NAME=VALUE, e.g. page-height=297", EXIT_USAGE)
    if settings.scanner_driver != "sane":
        fail(f"scanner_driver {settings.scanner_driver!r}: the drivers built so far are: sane", EXIT_USAGE)
    scanner = SaneScanner(name, dpi or settings.dpi, settings.scanner_mode, source or settings.scanner_source,
                          page_size or settings.scanner_page_size, dict(option.split("=", 1) for option in options))
    manifests, count = scan_into_dossier(ws, dossier_id, scanner, event, timeout)
    manifest = next(iter(manifests.values()))  # the dossier scanned into (or the inbox the stack waited in)
    code = max(STATUS_EXIT[m["status"]] for m in manifests.values())
    if as_json:
        event("done", status=manifest["status"], pages_captured=count, manifest=manifest,
              dossiers=[{"dossier_id": d, "status": m["status"], "manifest": m} for d, m in manifests.items()])
    else:
        for shown in manifests.values():
            show_manifest(shown, settings)
    sys.exit(code)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--done", "done_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where taken files go (default FOLDER/done).")
@click.option("--error", "error_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where refused files go, each with a .txt saying why (default FOLDER/error).")
@click.option("--once", is_flag=True, help="Take every file in the folder, then stop (for cron and tests).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line for each file taken or refused.")
def watch(folder: Path, done_dir: Path | None, error_dir: Path | None, once: bool, as_json: bool) -> None:
    """Digitize what scan-to-folder copiers drop into FOLDER.

    A file is taken when it has stopped growing; its dossier ID comes from its
    folder or file name (settings: watch_dossier_pattern), or else from the
    receipt's QR code on its first page. Nothing is taken
    twice and nothing is lost if the watcher is stopped or restarted.
    """
    from pipeline import steps
    from pipeline.counter import hand_in_file
    from pipeline.receipt import code_on_first_page
    from scanners.folder import FolderInbox

    settings = settings_or_exit()
    ws = workspace_or_exit(settings)
    folder = folder.resolve()
    if not folder.is_dir():
        fail(f"{folder} is not a folder", EXIT_USAGE)
    inbox = FolderInbox(folder, (done_dir or folder / "done").resolve(), (error_dir or folder / "error").resolve(),
                        settings.watch_dossier_pattern, settings.watch_settle_s,
                        lambda path: code_on_first_page(path, settings.dpi, settings.max_page_pixels))

    def digitize(dossier_id: str, path: Path) -> str | None:
        try:
            keys.check_dossier_id(dossier_id)
        except keys.InvalidDossierId as exc:
            return str(exc)
        item = hand_in_file(ws, dossier_id, path)
        steps.publish_manifest(ws, dossier_id)
        return str(item.problem) if item.problem else None

    if not as_json:
        out.print(f"watching {folder} (Ctrl-C stops)" if not once else f"taking what is in {folder}")
    deadline = time.monotonic() + 10 * settings.watch_settle_s + 60
    try:
        while True:
            for path in inbox.ready_files():
                outcome = inbox.take(path, digitize)
                if as_json:
                    click.echo(json.dumps(outcome.__dict__, ensure_ascii=False))
                elif outcome.reason:
                    err.print(f"[yellow]refused[/] {outcome.path}: {outcome.reason} -> {outcome.moved_to}")
                else:
                    out.print(f"taken {outcome.path} into {outcome.dossier_id}")
            if once and (not inbox.waiting() or time.monotonic() > deadline):
                return
            time.sleep(min(settings.watch_interval_s, settings.watch_settle_s / 2) if once else settings.watch_interval_s)
    except KeyboardInterrupt:
        out.print("stopped; files not yet taken stay in the folder")


@main.command()
@click.argument("dossier_id")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(dossier_id: str, as_json: bool) -> None:
    """Show a dossier's progress: each stack (file or scan), its pages read, and what was refused."""
    from pipeline import steps

    dossier_id = dossier_id_or_exit(dossier_id)
    ws = workspace_or_exit(settings_or_exit())
    stacks = steps.read_dossier(ws, dossier_id)
    if not stacks:
        fail(f"no dossier {dossier_id} in staging: nothing was ingested under that ID", EXIT_FAILED)
    manifest = ws.records.get_json_or_none(keys.manifest_key(dossier_id)) or {"status": "processing"}
    rows = [
        {"stack_id": d.stack_id, "name": d.source["name"], "state": d.state,
         "pages": d.page_count if d.page_count is not None else d.source.get("pages", 0),
         "pages_read": d.pages_read, "problems": ([d.error] if d.error else []) + d.page_problems,
         "documents": len(d.done["documents"]) if d.done else 0}
        for d in stacks
    ]
    if as_json:
        emit_json({"dossier_id": dossier_id, "status": manifest["status"], "stacks": rows})
    else:
        table = Table("stack", "file", "state", "pages read", "documents")
        for row in rows:
            table.add_row(row["stack_id"], row["name"], row["state"], f"{row['pages_read']}/{row['pages']}",
                          str(row["documents"]))
        out.print(f"Dossier [bold]{dossier_id}[/]: {manifest['status']}")
        out.print(table)
        for row in rows:
            for problem in row["problems"]:
                out.print(f"[yellow]{row['name']}[/]: {problem['reason']}. {problem['hint']}")
    sys.exit(STATUS_EXIT[manifest["status"]] if manifest["status"] != "processing" else EXIT_OK)


@main.command()
@click.argument("dossier_id")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder to write into.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def fetch(dossier_id: str, out_dir: Path, as_json: bool) -> None:
    """Write the dossier's stored objects under OUT as OUT/{dossier_id}/..., checking each PDF's SHA-256."""
    import hashlib

    dossier_id = dossier_id_or_exit(dossier_id)
    ws = workspace_or_exit(settings_or_exit())
    written = []
    for key in ws.records.keys(keys.staging_prefix(dossier_id)):
        target = out_dir / key
        target.parent.mkdir(parents=True, exist_ok=True)
        ws.records.download(key, str(target))
        written.append({"key": key, "path": str(target), "bytes": target.stat().st_size})
    if not written:
        fail(f"nothing stored for dossier {dossier_id}", EXIT_FAILED)
    manifest = json.loads((out_dir / keys.manifest_key(dossier_id)).read_text(encoding="utf-8"))
    bad = [doc["pdf_key"] for doc in manifest["documents"]
           if hashlib.sha256((out_dir / doc["pdf_key"]).read_bytes()).hexdigest() != doc["sha256"]]
    if as_json:
        emit_json({"dossier_id": dossier_id, "status": manifest["status"], "files": written, "checksum_mismatch": bad})
    else:
        for item in written:
            out.print(f"{item['path']}  {item['bytes']:,} bytes")
    if bad:
        fail(f"SHA-256 does not match the manifest for: {', '.join(bad)}", EXIT_FAILED)


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--workers", type=int, help="Also run N worker processes here for the job's duration "
                                           "(without it, the workers already attached to the broker do the work).")
@click.option("--json", "as_json", is_flag=True, help="Print the job's report as JSON at the end (for scripts).")
def batch(source: Path, workers: int | None, as_json: bool) -> None:
    """Digitize a whole archive as one resumable job.

    SOURCE is a folder with one sub-folder (or one multi-page PDF/TIFF) per
    dossier, named by its dossier ID, or a CSV file of dossier_id,path[,procedure].
    A file or folder whose name holds no dossier ID is named by its receipt.
    Shows pages read, pages a minute, time left and failures. Ctrl-C stops
    following (exit 130); `sohoa jobs resume JOB` goes on later, after a crash
    or a reboot too, redoing nothing already handed in. A damaged file fails
    its dossier with the reason, never the job.
    """
    from pipeline import jobs
    from pipeline.record import now

    settings = settings_or_exit()
    try:
        items = jobs.plan(source, settings.watch_dossier_pattern)
    except jobs.JobError as exc:
        fail(str(exc), EXIT_USAGE)
    ws = workspace_or_exit(settings)
    job = jobs.create(ws, source, items, now(settings.timezone))
    if not as_json:
        out.print(f"job [bold]{job['job_id']}[/]: {len(items)} files from {source}")
    sys.exit(run_job(ws, settings, job, workers, as_json))


# Stacks of a running job looked at in one poll (see pipeline.jobs.progress).
POLL_WINDOW = 16


def run_job(ws, settings: Settings, job: dict, workers: int | None, as_json: bool) -> int:
    """Hand in what is left of the job, follow it to the end with a progress bar, report; the exit code.

    An S3 server or broker that goes away mid-job is waited for (`outage_patience_s`);
    an S3 server that refuses to store stops the intake with exit code 7.
    """
    from pipeline import actors, jobs, steps
    from pipeline.counter import hand_in_file

    job_id = job["job_id"]
    actors.check_broker()  # unreachable from the start: a setting to fix, not an outage to wait out

    def tell(error: BaseException | None) -> None:
        if error is None:
            err.print("[green]the services answer again: going on[/]")
        else:
            err.print(f"[yellow]{outage.describe(error)}: waiting up to {settings.outage_patience_s // 60} min "
                      f"for it (Ctrl-C stops; `sohoa jobs resume {job_id}` goes on later)[/]")

    def patiently(call):
        return outage.wait_out(call, settings.outage_patience_s, tell)

    local = None
    if workers:
        command, env = worker_command(settings, workers, None)
        log = settings.state_dir / f"{job_id}.worker.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as sink:
            local = subprocess.Popen(command, env=env, stdout=sink, stderr=sink, start_new_session=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
               TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    entries: dict[int, dict] = {}  # the items handed in, by number
    try:
        with Progress(*columns, console=err, disable=as_json or not err.is_terminal) as bar:
            entries.update(patiently(lambda: jobs.handed_in(ws, job_id)))
            intake = bar.add_task("handing in", total=len(job["items"]), completed=len(entries), note="files")
            patiently(lambda: jobs.hand_in_pending(ws, job, entries, lambda dossier_id, path: hand_in_file(
                ws, dossier_id, path), lambda entry: bar.advance(intake)))
            for home in {e["home"] for e in entries.values() if e["refused"] and e["home"]}:
                # A dossier whose only file was refused has no worker to write its manifest.
                patiently(lambda: steps.publish_manifest(ws, home))
            finished: dict[int, bool] = {}
            reading = bar.add_task("pages read", total=sum(e["pages"] for e in entries.values()), note="")
            started = time.monotonic()
            cost = 0.0  # seconds the last look took, an outage's wait aside

            def look() -> jobs.Progress:
                nonlocal cost
                began = time.monotonic()
                found = jobs.progress(ws, job, entries, finished, POLL_WINDOW)
                cost = time.monotonic() - began
                return found

            while True:
                state = patiently(look)
                minutes = max(1e-6, (time.monotonic() - started) / 60)
                bar.update(reading, completed=state.pages_read,
                           note=f"{state.pages_read / minutes:.0f} pages/min, {state.failed + state.refused} failed")
                if state.complete:
                    break
                # Looking costs the S3 server what the workers need: a twentieth of the time at most
                # (and never more than 30 s between looks, were one slow for a passing reason).
                time.sleep(min(30.0, max(2.0, 20 * cost)))
            homes = list(dict.fromkeys(e["home"] for e in entries.values() if e["home"]))
            # The last manifests are written just after the stacks end, by the workers: wait for them
            # before stopping workers of our own.
            patiently(lambda: steps.final_manifests(ws, homes, 300, lambda: None))
    except KeyboardInterrupt:
        err.print(f"stopped following job {job_id}: what was handed in goes on in the workers. "
                  f"Resume with `sohoa jobs resume {job_id}`.")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if outage.kind(exc) != outage.REFUSING:
            raise
        return storage_full(job, len(entries), exc, as_json)
    finally:
        if local:
            os.killpg(local.pid, signal.SIGTERM)
            local.wait(60)
    rows = jobs.report(ws, job)
    if as_json:
        emit_json({"job_id": job_id, "items": len(job["items"]), "refused": state.refused,
                   "failed": state.failed, "dossiers": rows})
    else:
        show_job(job, rows)
    return max((STATUS_EXIT[row["status"]] for row in rows), default=EXIT_OK)


def storage_full(job: dict, handed: int, error: BaseException, as_json: bool) -> int:
    """Tell that the intake stopped because the S3 server refuses to store; exit code 7."""
    job_id, items = job["job_id"], len(job["items"])
    message = (f"{outage.describe(error)}: job {job_id} stopped handing in files after {handed} of {items}; "
               f"nothing handed in is lost, and the workers finish it once there is room. Free space on the "
               f"S3 server (or raise the bucket's quota), then run `sohoa jobs resume {job_id}`.")
    if as_json:
        emit_json({"job_id": job_id, "items": items, "handed_in": handed, "stopped": "storage_full",
                   "reason": message})
    err.print(f"[bold red]error:[/] {message}")
    return EXIT_STORAGE_FULL


def show_job(job: dict, rows: list[dict]) -> None:
    table = Table("dossier", "status", "documents", "pages", "what to do")
    for row in rows:
        table.add_row(row["dossier_id"] or "-", row["status"], str(row["documents"]), str(row["pages"]),
                      "; ".join(row["reasons"])[:200] or "-")
    out.print(f"job [bold]{job['job_id']}[/] ({job['source']}, {len(job['items'])} files)")
    out.print(table)


@main.group()
def jobs() -> None:
    """Batch jobs (`sohoa batch`): list, show, resume, report."""


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
def jobs_list(as_json: bool) -> None:
    """Every job, oldest first, with how many of its files were handed in."""
    from pipeline import jobs as batch_jobs

    ws = workspace_or_exit(settings_or_exit())
    found = []
    for job_id in batch_jobs.job_ids(ws):
        job = batch_jobs.load(ws, job_id)
        found.append({"job_id": job_id, "created_at": job["created_at"], "source": job["source"],
                      "items": len(job["items"]), "handed_in": len(batch_jobs.handed_in(ws, job_id))})
    if as_json:
        emit_json(found)
        return
    table = Table("job", "created", "source", "files handed in")
    for row in found:
        table.add_row(row["job_id"], row["created_at"], row["source"], f"{row['handed_in']}/{row['items']}")
    out.print(table)


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def jobs_show(job_id: str, as_json: bool) -> None:
    """A job's dossiers: status, documents, pages and the reasons to look at."""
    from pipeline import jobs as batch_jobs

    ws = workspace_or_exit(settings_or_exit())
    job = job_or_exit(ws, job_id)
    entries = batch_jobs.handed_in(ws, job_id)
    state = batch_jobs.progress(ws, job, entries, {})
    rows = batch_jobs.report(ws, job)
    if as_json:
        emit_json({"job_id": job_id, "progress": state.__dict__, "complete": state.complete, "dossiers": rows})
        return
    out.print(f"{state.handed_in}/{state.items} files handed in, {state.pages_read}/{state.pages} pages read, "
              f"{state.failed + state.refused} failed")
    show_job(job, rows)


@jobs.command("resume")
@click.argument("job_id")
@click.option("--workers", type=int, help="Also run N worker processes here for the job's duration.")
@click.option("--json", "as_json", is_flag=True, help="Print the job's report as JSON at the end.")
def jobs_resume(job_id: str, workers: int | None, as_json: bool) -> None:
    """Go on with a job after Ctrl-C, a crash or a reboot: hand in what was not, follow it to the end."""
    settings = settings_or_exit()
    ws = workspace_or_exit(settings)
    sys.exit(run_job(ws, settings, job_or_exit(ws, job_id), workers, as_json))


@jobs.command("report")
@click.argument("job_id")
@click.option("--csv", "as_csv", is_flag=True, help="CSV, one row per dossier (the default).")
@click.option("--json", "as_json", is_flag=True, help="JSON, one object per dossier.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not to stdout.")
def jobs_report(job_id: str, as_csv: bool, as_json: bool, out_file: Path | None) -> None:
    """The report an archivist files: dossier, status, documents, pages, types, reasons, files, checksums."""
    import csv
    import io

    from pipeline import jobs as batch_jobs

    ws = workspace_or_exit(settings_or_exit())
    rows = batch_jobs.report(ws, job_or_exit(ws, job_id))
    if as_json:
        text = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["dossier_id", "status", "documents", "pages", "types", "reasons", "files", "sha256"])
        for row in rows:
            writer.writerow([row["dossier_id"] or "", row["status"], row["documents"], row["pages"],
                             " ".join(row["types"]), " | ".join(row["reasons"]), " ".join(row["files"]),
                             " ".join(row["sha256"])])
        text = buffer.getvalue()
    if out_file:
        out_file.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def job_or_exit(ws, job_id: str) -> dict:
    from pipeline import jobs as batch_jobs

    try:
        return batch_jobs.load(ws, job_id)
    except batch_jobs.JobError as exc:
        fail(str(exc), EXIT_USAGE)
        raise


@main.command()
@click.option("--processes", type=int, help="Worker processes (default from settings: one per core).")
@click.option("--threads", type=int, help="Threads per process (default from settings).")
def worker(processes: int | None, threads: int | None) -> None:
    """Run Dramatiq workers for every stage, attached to the configured broker.

    Start as many as you like, on this machine or others pointed at the same
    broker and S3 server. Stops cleanly on Ctrl-C or SIGTERM; a worker killed
    outright loses nothing: its messages go to another worker.
    """
    settings = settings_or_exit()
    command, env = worker_command(settings, processes, threads)
    os.execve(sys.executable, command, env)


def worker_command(settings: Settings, processes: int | None, threads: int | None) -> tuple[list[str], dict]:
    """Dramatiq's worker over pipeline.actors, tesseract single-threaded, polling every 100 ms."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1", dramatiq_worker_timeout="100")
    return [sys.executable, "-m", "dramatiq", "pipeline.actors",
            "--processes", str(processes or settings.worker_processes),
            "--threads", str(threads or settings.worker_threads)], env


@main.group()
def stack() -> None:
    """The local Redis + S3 stack on 127.0.0.1, kept in the state folder (settings: state_dir)."""


@stack.command("up")
def stack_up() -> None:
    """Start the local Redis broker and SeaweedFS S3 server (no-op when running)."""
    from storage import stack as local

    settings = settings_or_exit()
    try:
        local.up(settings)
    except local.StackError as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    settings = load_settings()
    workspace_or_exit(settings)  # creates the buckets
    out.print(f"stack up: S3 http://{settings.s3_address}, broker {settings.broker_address}, "
              f"state in {settings.state_dir}")


@stack.command("down")
def stack_down() -> None:
    """Stop the local stack; its data stays for the next `up`."""
    from storage import stack as local

    local.down(settings_or_exit())
    out.print("stack down")


@stack.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print endpoint, keys, bucket and broker as JSON.")
def stack_status(as_json: bool) -> None:
    """What a downstream client needs: S3 endpoint, keys, bucket, broker URL."""
    from storage import stack as local

    info = local.describe(settings_or_exit())
    if as_json:
        emit_json(info)
    else:
        for key, value in info.items():
            out.print(f"{key}: {value}")
    sys.exit(EXIT_OK if all(info["running"].values()) else EXIT_UNREACHABLE)
