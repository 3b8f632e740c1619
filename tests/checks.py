"""Checks the tests share: a stored PDF through real readers, and OCR character error rate."""

from __future__ import annotations

import subprocess
import unicodedata
from pathlib import Path

import pikepdf
import pikepdf.pdfa
from rapidfuzz.distance import Levenshtein


def check_pdfa(path: Path, expected_pages: int, identifier: str) -> str:
    """Assert the file is a readable PDF/A-2b with embedded fonts; return its text."""
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == expected_pages
        assert not pdf.is_encrypted
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert identifier in str(meta.get("dc:identifier", ""))
        intents = pdf.Root.OutputIntents
        assert len(intents) == 1 and intents[0].S == "/GTS_PDFA1"
        assert intents[0].DestOutputProfile.read_bytes()[36:40] == b"acsp"  # an ICC profile
        for page in pdf.pages:
            assert len(page.get_images()) == 1  # the scan, under the text layer
    report = pikepdf.pdfa.validate_written(path, "2b")
    assert report.passed, report
    qpdf = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert qpdf.returncode == 0 and "No syntax or stream encoding errors" in qpdf.stdout, qpdf.stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows, "no fonts: the text layer is missing"
    # Columns: name type encoding emb sub uni; every font embedded.
    assert all(row.split()[-5] == "yes" for row in rows), fonts
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert text == unicodedata.normalize("NFC", text), "pdftotext gives decomposed Vietnamese"
    return text


def cer(found: str, truth: str) -> float:
    """Character error rate, line layout aside: edits per character of the truth."""
    found, truth = " ".join(found.split()), " ".join(truth.split())
    return Levenshtein.distance(found, truth) / len(truth)
