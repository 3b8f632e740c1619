"""Stage 2, preprocess: make the page upright and level, and even it out for OCR.

Tesseract reads a page skewed by 2 degrees with several times the errors of a
straight one, and its text layer comes out in scrambled order, so deskewing is
not cosmetic. The estimate uses text lines: Otsu on a half-size copy, dilation
into line-shaped blobs, and the median angle of their minimum-area rectangles
(13 ms a page here, against 1.3 s for a Hough transform with the same answer).

Orientation is decided from the same ink in two steps: do the text lines run
across or down the page (row against column profiles), and, once level, is
the page upside down (printed Vietnamese carries more ink above each line's
core, from capitals, ascenders and tone marks, than below it). Where a page
has too few lines to tell, tesseract's orientation detection (OSD) decides:
it is right there too, but costs 0.4 s a page, more than OCR itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytesseract
from PIL import Image

MAX_SKEW_DEG = 15.0
MIN_CORRECTION_DEG = 0.1
# Below these the ink shape cannot tell up from down and OSD is asked.
MIN_LINES_FOR_SHAPE = 4
MIN_SHAPE_MARGIN = 0.15
# Rows (of the half-size page) between a tone mark and its letters: closed before finding lines.
LINE_GAP_CLOSE = 5
RULE_SHARE = 30  # an inked stroke longer than 1/30 of the page height is a rule or a frame, not a letter
# The outer share of each side that layout analysis ignores: scanner-lid borders live there.
EDGE_MARGIN = 0.04
BAND_SHARE = 0.3  # an inked shape touching the edge over this share of a side is a border, not text


@dataclass(frozen=True)
class Straightened:
    image: Image.Image
    skew_corrected_deg: float
    rotation_applied: int = 0  # degrees turned clockwise to make the page upright


def _evenly_lit(grey: np.ndarray) -> np.ndarray:
    """The page with the paper's own brightness divided out: shadows, lid borders and uneven light gone.

    The paper is estimated by a maximum filter over a quarter-size copy (it keeps
    paper, drops ink), smoothed, and scaled back up.
    """
    small = cv2.resize(grey, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    paper = cv2.medianBlur(cv2.dilate(small, np.ones((9, 9), np.uint8)), 9)
    paper = cv2.resize(paper, (grey.shape[1], grey.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(grey, paper, scale=255)


def _half_ink(grey: np.ndarray) -> np.ndarray:
    """1 where there is ink, on an evenly lit half-size copy: enough for layout, four times cheaper.

    Evenly lit first, and the outer margin left out: a dark lid border or shadow
    band would otherwise count as a column of ink. Borders wider than the
    margin are paper to `_evenly_lit`; narrower ones fall inside the margin.
    """
    small = _evenly_lit(cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA))
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    height, width = ink.shape
    # A band along an edge, long enough to be no text (a lid border, turned with the page by deskew).
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    x, y, w, h = (stats[:, i] for i in range(4))
    at_edge = (x == 0) | (y == 0) | (x + w == width) | (y + h == height)
    band = at_edge & ((h > BAND_SHARE * height) | (w > BAND_SHARE * width))
    band[0] = False  # label 0 is the paper
    if band.any():
        ink[band[labels]] = 0
    margin_y, margin_x = int(height * EDGE_MARGIN), int(width * EDGE_MARGIN)
    ink[:margin_y], ink[height - margin_y:], ink[:, :margin_x], ink[:, width - margin_x:] = 0, 0, 0, 0
    return ink


def lines_run_down(ink: np.ndarray) -> bool:
    """True when the text lines run down the page (it lies on its side).

    Rows across level text alternate between ink and gaps, so their profile is
    far peakier than the columns'; a page on its side shows the reverse.
    """
    def peakiness(profile: np.ndarray) -> float:
        return float(np.var(profile / (profile.mean() + 1e-9)))

    return peakiness(ink.sum(axis=0).astype(float)) > peakiness(ink.sum(axis=1).astype(float))


def ink_above_minus_below(ink: np.ndarray) -> tuple[float, int]:
    """(share of ink above each line's core minus the share below it, number of lines).

    Positive on an upright page, negative on one upside down. Strokes running
    down more than two lines' height (an ID card's frame, table borders) are
    left out: every row they cross would look inked, one line from top to bottom.
    """
    down = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, ink.shape[0] // RULE_SHARE)))
    ink = ink & ~cv2.morphologyEx(ink, cv2.MORPH_OPEN, down)
    rows = ink.sum(axis=1)
    inked = rows > 0.002 * ink.shape[1]
    # Close gaps of a few rows: a tone mark is a line's own, not a line of its own.
    inked = np.convolve(inked, np.ones(LINE_GAP_CLOSE), mode="same") > 0
    inked = np.convolve(~inked, np.ones(LINE_GAP_CLOSE), mode="same") == 0
    above = below = 0.0
    lines, y, height = 0, 0, len(rows)
    while y < height:
        if not inked[y]:
            y += 1
            continue
        start = y
        while y < height and inked[y]:
            y += 1
        profile = rows[start:y].astype(float)
        if len(profile) < 4:
            continue
        core = np.flatnonzero(profile >= 0.5 * profile.max())
        above += profile[: core[0]].sum()
        below += profile[core[-1] + 1:].sum()
        lines += 1
    return float((above - below) / (above + below + 1e-9)), lines


def upside_down(ink: np.ndarray, grey: np.ndarray, dpi: int) -> bool:
    """Whether a level page is upside down: from its ink, or from tesseract OSD where that is unsure."""
    margin, lines = ink_above_minus_below(ink)
    if lines >= MIN_LINES_FOR_SHAPE and abs(margin) >= MIN_SHAPE_MARGIN:
        return margin < 0
    # OSD reads a 150 dpi copy well; below that it guesses (it took a 100 dpi Vietnamese page for Cyrillic).
    scale = min(1.0, 150 / dpi)
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    try:
        osd = pytesseract.image_to_osd(
            Image.fromarray(_evenly_lit(small)), config=f"--psm 0 --dpi {round(dpi * scale)} -c min_characters_to_try=5",
            output_type=pytesseract.Output.DICT,
        )
    except pytesseract.TesseractError:  # too few characters even for OSD: a nearly blank page
        return margin < -0.05  # upright unless the ink clearly says otherwise
    # OSD's answer is kept even at low confidence: on sparse test pages it was
    # right at 0.65 where the ink shape was not (bench/quality.py --orientation).
    return osd["rotate"] == 180


def straighten(image: Image.Image, dpi: int) -> Straightened:
    """The page upright and level: quarter turn if it lies on its side, deskew, half turn if upside down.

    The ink map is made once, from the page as scanned, and turned along with
    the page, so the three decisions cost one analysis (about 30 ms at 300 dpi).
    """
    pixels = _pixels(image)
    grey = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    ink = _half_ink(grey)
    quarter = lines_run_down(ink)
    if quarter:  # a quarter turn clockwise
        pixels, grey, ink = (np.ascontiguousarray(np.rot90(a, -1)) for a in (pixels, grey, ink))
    angle = skew_of(ink)
    if abs(angle) >= MIN_CORRECTION_DEG:
        pixels = _rotate(pixels, angle, 255, cv2.INTER_LINEAR)
        grey = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        ink = _rotate(ink, angle, 0, cv2.INTER_NEAREST)
    else:
        angle = 0.0
    turned = upside_down(ink, grey, dpi)
    if turned:
        pixels = np.ascontiguousarray(pixels[::-1, ::-1])
    return Straightened(_as_image(pixels, image.mode), round(angle, 2), 90 * int(quarter) + 180 * int(turned))


def skew_of(ink: np.ndarray) -> float:
    """The angle in degrees by which the text lines of a half-size ink map rise to the right (0 if unsure)."""
    width = ink.shape[1]
    lines = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (max(9, width // 60), 3)))
    contours, _ = cv2.findContours(lines, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    angles, weights = [], []
    for contour in contours:
        (_, _), (w, h), angle = cv2.minAreaRect(contour)
        if w < h:
            w, h, angle = h, w, angle - 90
        if w < width / 10 or w < 4 * h:
            continue  # not a text line: a blob, a seal, a short word
        angle = (angle + 90) % 180 - 90
        if abs(angle) <= MAX_SKEW_DEG:
            angles.append(angle)
            weights.append(w)
    if not angles:  # a blank page, or one with no line of text: leave it
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights)[order])
    median = np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)]
    return -float(median)


def estimate_skew(grey: np.ndarray) -> float:
    """The angle in degrees by which the page's text lines rise to the right (0 if unsure)."""
    return skew_of(_half_ink(grey))


def _rotate(pixels: np.ndarray, angle: float, fill: int, interpolation: int) -> np.ndarray:
    """Turn by `angle` degrees (clockwise for positive), growing the canvas so no corner is cut."""
    height, width = pixels.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_width, new_height = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += (new_width - width) / 2
    matrix[1, 2] += (new_height - height) / 2
    border = (fill,) * (pixels.shape[2] if pixels.ndim == 3 else 1)
    return cv2.warpAffine(pixels, matrix, (new_width, new_height), flags=interpolation, borderValue=border)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L") if image.mode == "1" else image)


def _as_image(pixels: np.ndarray, mode: str) -> Image.Image:
    # A boolean array becomes a 1-bit image directly (six times faster than point + convert).
    return Image.fromarray(pixels >= 128) if mode == "1" else Image.fromarray(pixels)


def deskew(image: Image.Image) -> Straightened:
    """The page turned so its text lines are level; the canvas grows so no corner is cut."""
    pixels = _pixels(image)
    angle = estimate_skew(pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY))
    if abs(angle) < MIN_CORRECTION_DEG:
        return Straightened(image, 0.0)
    return Straightened(_as_image(_rotate(pixels, angle, 255, cv2.INTER_LINEAR), image.mode), round(angle, 2))


def even_out(image: Image.Image) -> Image.Image:
    """The page as OCR should see it: grey, lit evenly, scanner-lid borders and shadows gone.

    The paper's own brightness is divided out (`_evenly_lit`), so shadows near
    the spine, dark lid borders and uneven lighting become white paper, and
    faded print keeps its contrast against it. A page shadowed at one edge,
    which plain tesseract reads as nothing at all, reads at 0.4% CER this way.
    It stays grey: tesseract's LSTM reads grey better than our black and white
    (mean CER 0.17% against 0.27% on bench/quality.py's degraded set), for a
    fifth more OCR time. Only OCR sees this image: the PDF keeps the page as scanned.
    """
    if image.mode == "1":
        return image
    grey = np.asarray(image if image.mode == "L" else image.convert("L"))
    return Image.fromarray(_evenly_lit(grey))
