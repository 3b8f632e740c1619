"""Page quality warnings: what the counter should re-scan, told while the citizen is there.

A warning never blocks a dossier. Each is a code that front ends can act on
and a sentence in Vietnamese administrative practice's terms. The thresholds
are heuristics measured on generated pages (samples/generate.py) with known
blur, resolution and exposure; see README, "Scan quality".
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

MIN_DPI = 200
# Variance of the Laplacian over inked pixels of the half-size page: sharp
# 300 dpi text scores in the thousands, a 2-pixel Gaussian blur far lower.
MIN_SHARPNESS = 2500.0
MIN_PAPER_LEVEL = 150  # the paper itself is darker than this: too dark or shadowed
MIN_CONTRAST = 80  # ink no darker than paper by this much: faded or too light
MAX_BLANK_INK = 0.0005  # share of inked pixels below which a page is nearly blank
EDGE_STRIP = 0.006  # the outer strip of the page, as a share of its size


def warn(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def quality_warnings(image: Image.Image, dpi: int) -> list[dict]:
    """Warnings for one page as scanned (before clean-up), most serious first."""
    full = np.asarray(image if image.mode == "L" else image.convert("L"))
    grey = cv2.resize(full, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)  # 4x cheaper, same verdicts
    cumulative = np.cumsum(cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel()) / grey.size
    paper = float(np.searchsorted(cumulative, 0.90))
    darkest = float(np.searchsorted(cumulative, 0.005))
    # Ink without isolated specks: scanner noise and dithering are not text.
    ink = cv2.medianBlur((grey < paper - MIN_CONTRAST / 2).astype(np.uint8), 3).astype(bool)
    found = []
    if dpi < MIN_DPI:
        found.append(warn("low_resolution", f"scanned at {dpi} dpi; re-scan at 300 dpi"))
    if ink.mean() < MAX_BLANK_INK:
        found.append(warn("nearly_blank", "the page is nearly blank; check that the right side was scanned"))
        return found
    if paper < MIN_PAPER_LEVEL:
        found.append(warn("too_dark", "the page is too dark; lower the scanner's darkness or close the lid"))
    elif paper - darkest < MIN_CONTRAST:
        found.append(warn("too_light", "the print is faded or too light; raise the scanner's darkness"))
    elif image.mode != "1" and cv2.Laplacian(grey, cv2.CV_64F)[ink].var() < MIN_SHARPNESS:
        # Faded or dark pages also measure soft: blur is judged only on a fair exposure.
        found.append(warn("blurred", "the page is blurred; keep it flat on the glass and scan again"))
    cut = _cut_edges(ink)
    if cut:
        found.append(warn("cut_off", f"text runs off the {', '.join(cut)} edge; place the page fully on the glass"))
    return found


def _cut_edges(ink: np.ndarray) -> list[str]:
    """Edges whose outer strip holds scattered ink (cut text), not a solid dark border."""
    height, width = ink.shape
    strip = max(3, int(EDGE_STRIP * max(height, width)))
    edges = {"top": ink[:strip], "bottom": ink[-strip:], "left": ink[:, :strip], "right": ink[:, -strip:]}
    cut = []
    for name, band in edges.items():
        share = float(band.mean())
        if 0.003 < share < 0.5:  # some ink, but not a scanner-lid border covering the strip
            cut.append(name)
    return cut
