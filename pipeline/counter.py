"""The two ways papers are handed in: a file, or a scan session at the counter.

Both run on the client side (the CLI, the folder watcher, a benchmark): they
put the papers in staging and send the workers their first message.

In a scan session each page is staged and sent to the workers the moment it
comes off the device, so the first pages are being read while the feeder
still runs. The session reports `captured`, `read`, `fault` events to whoever
shows them (the terminal, a front end through JSON lines, a benchmark) and
waits for the dossier's manifest to be final.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pipeline import dossier as keys
from pipeline import steps
from pipeline.ingest import staging_bytes
from pipeline.understand import page_role
from scanners.base import PageSource, ScannerError

OnEvent = Callable[..., None]  # on_event(kind, **fields)


def hand_in_file(ws: steps.Workspace, dossier_id: str | None, path: Path) -> steps.Received:
    """Receive a file into the dossier and queue it for the workers, unless it was refused or is stored.

    Without a dossier ID the file's receipts name its dossiers (see steps.receive_file).
    """
    from pipeline import actors  # configures the broker; only a client that sends needs it

    item = steps.receive_file(ws, dossier_id, path)
    if not item.problem and not item.already_stored:
        actors.split_source.send(item.dossier_id, item.stack_id)
    return item


def scan_into_dossier(ws: steps.Workspace, dossier_id: str | None, scanner: PageSource, on_event: OnEvent,
                      timeout_s: float) -> tuple[dict[str, dict], int]:
    """Scan every page the device gives into a new stack; (final manifests by dossier, pages captured).

    Without a dossier ID the receipts in the stack name its dossiers. A
    device fault ends the scan with the pages captured so far kept and the
    fault on record in the dossier; scanning again adds a new stack.
    """
    from pipeline import actors  # configures the broker; only a session that sends needs it

    dossier_id, stack = steps.receive_scan(ws, dossier_id, scanner.name)
    steps.publish_manifest(ws, dossier_id)
    reported: dict[int, str | None] = {}  # page -> the type of the document it is in, as far as known yet

    def report_read() -> None:
        """Tell each newly read page: its confidence, warnings, and whether it starts a document of a type.

        Told at once from the page alone (and the page before it, when read):
        the summary at the end, made with the whole stack in view, is what is stored.
        """
        for key in sorted(ws.staging.keys(keys.staging_prefix(dossier_id, stack))):
            if key.endswith(".ocr.json"):
                index = int(key.rsplit("page-", 1)[1].split(".")[0])
                if index not in reported:
                    page = ws.staging.get_json(key)
                    role = page_role(page, ws.document_types, ws.classifier, reported.get(index - 1))
                    reported[index] = role.doc_type if role.role in ("start", "continue") else reported.get(index - 1)
                    on_event("read", page=index, confidence=page["mean_confidence"], warnings=page["warnings"],
                             role=role.role, doc_type=role.doc_type)

    count, problems = 0, []
    try:
        for page in scanner.pages():
            steps.stage_page(ws, dossier_id, stack, count, staging_bytes(page.image), page.index, page.dpi)
            actors.process_page.send(dossier_id, stack, count)
            on_event("captured", page=count)
            count += 1
            report_read()
    except ScannerError as fault:
        problems.append(dict(fault.as_dict(), file=f"scan on {scanner.name}", page=count))
        on_event("fault", pages_captured=count, **fault.as_dict())
    if count == 0:
        steps.record_failure(ws, dossier_id, stack, "scan", problems[0] if problems else {
            "file": f"scan on {scanner.name}", "page": None, "reason": "no page was scanned",
            "hint": "Put the papers in the scanner and scan again."})
        actors.publish_manifest.send(dossier_id)
    else:
        steps.close_stack(ws, dossier_id, stack, count, problems)
        if steps.all_pages_read(ws, dossier_id, stack, count):  # the workers were quicker than the feeder
            actors.assemble_stack.send(dossier_id, stack)
    return steps.final_manifests(ws, [dossier_id], timeout_s, report_read), count
