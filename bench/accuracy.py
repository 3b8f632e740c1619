"""Document understanding accuracy on a freshly generated set: CER, segmentation, types, fields.

Generates N dossier stacks with samples/documents.py (seeds the classifier
was not trained on: it trains on its own seeds, see scripts/train_classifier.py),
degraded like counter scans, each a receipt and some documents of every type
with blank backs now and then. Every page goes through the pipeline's page
stages (`pipeline.read.read_page`: quality, straighten, OCR, QR) in a pool
of worker processes, then the stack through `pipeline.understand` exactly as
the assemble step runs it. Prints:

  page CER            OCR text against the rendered text, per non-blank page
  segmentation        documents whose exact page set was found, and stacks all right
  doc type accuracy   per true document (by its first page), with the confusions
  fields              precision, recall, F1 (a field is right when its normalised
                      value equals the truth), and fields predicted that are not on the page
  dossiers            stacks whose receipt named the right dossier

    .venv/bin/python bench/accuracy.py --dossiers 20 [--seed 11] [--cache DIR] [--json]

--cache keeps the pages' OCR results, so that rules can be tuned without
reading the pages again (delete it when the page stages change).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from rapidfuzz.distance import Levenshtein  # noqa: E402

from pipeline.classifier import PageClassifier  # noqa: E402
from pipeline.doctypes import load_document_types  # noqa: E402
from pipeline.ingest import BadInput, read_pages  # noqa: E402
from pipeline.ocr import Tesseract  # noqa: E402
from pipeline.read import read_page  # noqa: E402
from pipeline.settings import load_settings  # noqa: E402
from pipeline.understand import assign_dossiers, split_stack  # noqa: E402
from samples.documents import dossier_code, make_dossier, write_stack  # noqa: E402


def read_file(path: str) -> list[dict]:
    """Every page of a stack file through the page stages, as a worker reads them."""
    settings = load_settings()
    engine = Tesseract(settings.languages, settings.tesseract_psm)
    pages = []
    for item in read_pages(Path(path), settings.dpi, settings.max_page_pixels):
        if isinstance(item, BadInput):
            raise RuntimeError(str(item))
        pages.append(read_page(item.image(), item.dpi, engine, settings.jpeg_quality).result)
    return pages


def cer(found: str, truth: str) -> float:
    found, truth = " ".join(found.split()), " ".join(truth.split())
    return Levenshtein.distance(found, truth) / max(1, len(truth))


def score(truth: dict, pages: list[dict], types, classifier) -> dict:
    """Compare one stack's understanding with its truth."""
    stack = split_stack(pages, types, classifier)
    groups = assign_dossiers(stack.documents, None)
    found = {tuple(d.pages): d for d in stack.documents}
    by_first = {p: d for d in stack.documents for p in d.pages}
    rows = {"docs": 0, "exact": 0, "type_ok": 0, "confusions": Counter(), "tp": 0, "fp": 0, "fn": 0,
            "not_on_page": 0, "predicted": 0, "field_errors": []}
    for true_doc in truth["documents"]:
        rows["docs"] += 1
        rows["exact"] += tuple(true_doc["pages"]) in found
        predicted = by_first.get(true_doc["pages"][0])
        got_type = predicted.doc_type if predicted else "(skipped)"
        rows["type_ok"] += got_type == true_doc["doc_type"]
        if got_type != true_doc["doc_type"]:
            rows["confusions"][(true_doc["doc_type"], got_type)] += 1
        fields = predicted.fields if predicted and predicted.pages[0] == true_doc["pages"][0] else {}
        expected = true_doc["fields"]
        for name, value in fields.items():
            rows["predicted"] += 1
            if name not in expected:
                rows["not_on_page"] += 1
                rows["fp"] += 1
                rows["field_errors"].append((true_doc["doc_type"], name, None, value["value"]))
            elif value["value"] == expected[name]:
                rows["tp"] += 1
            else:
                rows["fp"] += 1
                rows["field_errors"].append((true_doc["doc_type"], name, expected[name], value["value"]))
        for name in expected:
            if name not in fields or fields[name]["value"] != expected[name]:
                rows["fn"] += 1
                if name not in fields:
                    rows["field_errors"].append((true_doc["doc_type"], name, expected[name], None))
    skipped_truth = {i for i, p in enumerate(truth["pages"]) if p["kind"] == "blank"}
    skipped_found = {s["page"] for s in stack.skipped}
    rows["stack_exact"] = (len(found) == len(truth["documents"]) and rows["exact"] == rows["docs"]
                           and skipped_truth == skipped_found)
    rows["dossier_ok"] = [g[0] for g in groups] == [truth["dossier_id"]]
    rows["blank_ok"] = skipped_truth == skipped_found
    rows["cer"] = [cer(p["text"], t["text"]) for p, t in zip(pages, truth["pages"]) if t["kind"] == "page"]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=20)
    parser.add_argument("--documents", type=int, default=3, help="documents after each receipt")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--cache", type=Path, help="folder keeping the generated stacks and their OCR results")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show-errors", action="store_true", help="list every field error")
    args = parser.parse_args()
    settings = load_settings()
    types = load_document_types(settings.document_types)
    classifier = PageClassifier.load(settings.classifier_model)
    folder = args.cache or Path(tempfile.mkdtemp(prefix="sohoa-accuracy-"))
    folder.mkdir(parents=True, exist_ok=True)
    truth_file = folder / "truth.json"
    if truth_file.exists():
        truths = json.loads(truth_file.read_text(encoding="utf-8"))
    else:
        rng = random.Random(f"evaluate-{args.seed}")
        truths = []
        for n in range(args.dossiers):
            code = dossier_code(rng)
            stack = write_stack(folder, f"stack-{n:03d}.pdf", make_dossier(rng, code, args.documents), rng,
                                blank_after=0.1)
            truths.append(dict(stack, dossier_id=code))
        truth_file.write_text(json.dumps(truths, ensure_ascii=False), encoding="utf-8")
    todo = [t["file"] for t in truths if not (folder / (t["file"] + ".ocr.json")).exists()]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for name, pages in zip(todo, pool.map(read_file, [str(folder / name) for name in todo])):
            (folder / (name + ".ocr.json")).write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
            print(f"read {name}", file=sys.stderr)
    totals = Counter()
    confusions, errors, cers = Counter(), [], []
    for truth in truths:
        pages = json.loads((folder / (truth["file"] + ".ocr.json")).read_text(encoding="utf-8"))
        rows = score(truth, pages, types, classifier)
        for key in ("docs", "exact", "type_ok", "tp", "fp", "fn", "not_on_page", "predicted", "stack_exact",
                    "dossier_ok", "blank_ok"):
            totals[key] += rows[key]
        confusions.update(rows["confusions"])
        errors += rows["field_errors"]
        cers += rows["cer"]
    precision = totals["tp"] / max(1, totals["tp"] + totals["fp"])
    recall = totals["tp"] / max(1, totals["tp"] + totals["fn"])
    result = {
        "stacks": len(truths), "pages": sum(len(t["pages"]) for t in truths), "documents": totals["docs"],
        "page_cer": {"median": round(statistics.median(cers), 4), "mean": round(statistics.fmean(cers), 4)},
        "segmentation_exact_match": round(totals["exact"] / totals["docs"], 4),
        "stacks_exactly_split": round(totals["stack_exact"] / len(truths), 4),
        "blank_pages_right": round(totals["blank_ok"] / len(truths), 4),
        "doc_type_accuracy": round(totals["type_ok"] / totals["docs"], 4),
        "confusions": [{"true": a, "found": b, "count": n} for (a, b), n in confusions.most_common()],
        "fields": {"precision": round(precision, 4), "recall": round(recall, 4),
                   "f1": round(2 * precision * recall / max(1e-9, precision + recall), 4),
                   "not_on_page_share": round(totals["not_on_page"] / max(1, totals["predicted"]), 4)},
        "dossier_from_receipt": round(totals["dossier_ok"] / len(truths), 4),
        "field_errors_by_field": Counter(f"{t}.{n}" for t, n, _, _ in errors).most_common(12),
        "cache": str(folder),
    }
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2))
    if args.show_errors:
        for doc_type, name, expected, got in errors:
            print(f"{doc_type}.{name}: expected {expected!r}, got {got!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
