"""Vietnamese text as the pipeline compares and stores it.

OCR drops or swaps diacritics, pages print labels in capitals, scanners and
macOS clients send NFD, and people write "hòa" or "hoà": for *matching*, all
of these are one word, so text is folded (no marks, đ -> d, lower case).
*Values* are stored as printed, in NFC, names in Vietnamese title case.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_MARKS = re.compile(r"[\u0300-\u036f]")
# Punctuation that only separates: colons after labels, dotted leaders, brackets.
_SEPARATORS = re.compile(r"[:;,.…_()\[\]\"'“”/|*•·-]+")


def nfc(text: str) -> str:
    """Composed form, the one every stored value uses."""
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower case without diacritics: "Họ, chữ đệm và tên" -> "ho, chu dem va ten"."""
    bare = _MARKS.sub("", unicodedata.normalize("NFD", text))
    return bare.replace("đ", "d").replace("Đ", "D").lower()


def fold_words(text: str) -> list[str]:
    """The folded words of a text, separators dropped: what labels and titles are matched on."""
    return _SEPARATORS.sub(" ", fold(text)).split()


def title_case(name: str) -> str:
    """Vietnamese title case: "NGUYỄN văn an" -> "Nguyễn Văn An"."""
    return " ".join(word[:1].upper() + word[1:].lower() for word in nfc(name).split())


@dataclass(frozen=True)
class Token:
    """One OCR word: where it sits in its line's text, its box and confidence (0-1)."""

    start: int
    end: int
    bbox: tuple[int, int, int, int]
    confidence: float


@dataclass(frozen=True)
class Line:
    """One printed line: its text (NFC), the same text folded letter for letter, its OCR words.

    Folding letter for letter keeps positions equal, so a label found in
    `folded` cuts the value out of `text` at the same offsets.
    """

    text: str
    folded: str
    tokens: tuple[Token, ...]
    page: int = 0

    def words(self) -> list[tuple[int, int, str]]:
        """(start, end, folded word) for each run of letters or digits: "tên.....NGUYỄN" is two."""
        return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(self.folded)]

    def span_tokens(self, start: int, end: int) -> list[Token]:
        return [t for t in self.tokens if t.end > start and t.start < end]


_WORD = re.compile(r"[^\W_]+")


def fold_aligned(text: str) -> str:
    """`fold` letter by letter, so that positions in the result are positions in `text` (NFC)."""
    return "".join((fold(c) or c)[0] for c in text)


def make_line(words: list[dict], page: int = 0) -> Line:
    """A line from OCR words (dicts as stored in ocr.json), left to right."""
    text, tokens = "", []
    for word in sorted(words, key=lambda w: w["bbox"][0]):
        piece = nfc(word["text"])
        start = len(text) + (1 if text else 0)
        text = f"{text} {piece}" if text else piece
        tokens.append(Token(start, len(text), tuple(word["bbox"]), word["confidence"] / 100))
    return Line(text, fold_aligned(text), tuple(tokens), page)


def page_lines(words: list[dict], page: int = 0) -> list[Line]:
    """The page's lines from its OCR words, top to bottom.

    Tesseract's own lines first; a form's label and its value can land in two
    blocks on one printed line, so lines that share most of their height are
    joined.
    """
    by_line: dict[tuple, list[dict]] = {}
    for word in words:
        by_line.setdefault(tuple(word["line"]), []).append(word)
    rows: list[list[dict]] = []
    for row in sorted(by_line.values(), key=lambda r: _median([(w["bbox"][1] + w["bbox"][3]) / 2 for w in r])):
        top, bottom = _median([w["bbox"][1] for w in row]), _median([w["bbox"][3] for w in row])
        if rows:
            last_top = _median([w["bbox"][1] for w in rows[-1]])
            last_bottom = _median([w["bbox"][3] for w in rows[-1]])
            overlap = min(bottom, last_bottom) - max(top, last_top)
            if overlap > 0.5 * min(bottom - top, last_bottom - last_top):
                rows[-1].extend(row)
                continue
        rows.append(row)
    return [make_line(row, page) for row in rows]


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]
