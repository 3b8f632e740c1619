"""Stage 4b, fields: read a classified document's fields from its OCR lines.

Generic machinery only; the labels, value kinds and sections of each type are
in config/document-types.yaml. A label is found in a line by fuzzy matching
its folded words, so capitals, lost diacritics and OCR slips still match. The
value is what follows it on the same line (after a colon or dotted leaders)
up to the next label, or else the next line. A field whose label is not found,
or whose value does not read as its kind, is absent: never guessed, never
taken from another document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz

from pipeline.doctypes import DocType, FieldRule, Phrase, Thresholds
from pipeline.dossier import PORTAL_CODE
from pipeline.text import Line, fold, nfc, title_case

# Item numbers before a label ("1.", "3.2.", "[01]", "a)") and the junk around values.
_NUMBERING = re.compile(r"^\s*(?:\[\d+\]|\d+(?:\.\d+)*\.?|[a-dA-D]\)|[IVX]+\.)\s*")
_LEAD = " :;.,…_-–/|*"
_TRAIL = " :;.,…_-–/|*("
_TRAILING_NUMBER = re.compile(r"\s+(?:\[\d+\]|\d+(?:\.\d+)*\.|[a-d]\))$")
# Characters OCR reads for digits inside numbers.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "I": "1", "l": "1", "|": "1",
                                   "i": "1", "S": "5", "B": "8", "Z": "2"})
# Province codes of the 12-digit citizen ID (Circular 59/2021/TT-BCA).
PROVINCES = {1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38,
             40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80,
             82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96}


@dataclass(frozen=True)
class Match:
    """A label found in a line: the field it belongs to, where, and how well it matched (0-100)."""

    field: str
    start: int
    end: int
    score: float
    strong: bool  # followed by a colon, leaders or the line's end: surely a label, not a word in a value


@dataclass(frozen=True)
class Value:
    """A field's value normalised to its kind; `problem` says why it is not valid."""

    value: object
    problem: str | None = None


def find_phrase(line: Line, phrase: Phrase, min_score: float, anchored: bool = False) -> tuple[int, int, float] | None:
    """The best place of a folded phrase among the line's words: (start, end, score) or None.

    Windows of one word more or less than the phrase absorb OCR's split and
    joined words, but must match closely (92): "Họ và tên" is not "Họ và tên mẹ".
    `anchored`: only at the line's start, after any item number (a section heading).
    """
    words = line.words()
    if anchored:
        opening = len(_NUMBERING.match(line.folded).group()) if _NUMBERING.match(line.folded) else 0
        words = [w for w in words if w[0] >= opening]
    size = len(phrase.words)
    best = None
    for i in range(1 if anchored else len(words)):
        for n in {max(1, size - 1), size, size + 1}:
            window = words[i:i + n]
            if len(window) < n:
                continue
            if ":" in line.text[window[0][0]:window[-1][1]]:
                continue  # a label never runs over a colon: what follows one is a value
            candidate = " ".join(w for _, _, w in window)
            score = 100.0 if candidate == phrase.joined else fuzz.ratio(candidate, phrase.joined)
            if size == 1 and score < 100:  # one short word: only an exact match is a label
                continue
            if score < (min_score if n == size else max(min_score, 92)):
                continue
            if best is None or score > best[2] or (score == best[2] and n < size):
                best = (window[0][0], window[-1][1], score)
    return best


def _is_strong(line: Line, end: int) -> bool:
    after = line.text[end:].lstrip(" ")
    return not after or after[0] in ":.…_/" or after.startswith("(")


def label_matches(line: Line, rules: list[FieldRule], min_score: float) -> list[Match]:
    """Every label of the given fields in the line, overlaps resolved in favour of the longer label."""
    found = []
    for rule in rules:
        for label in rule.labels:
            hit = find_phrase(line, label, min_score)
            if hit is None:
                continue
            start, end, score = hit
            at_start = not _NUMBERING.sub("", line.folded[:start]).strip(_LEAD)
            # Strong: a colon or leaders follow, or the line ends after a label that opens it
            # (the value is below). A title that ends in a label's words is neither.
            strong = _is_strong(line, end) and (at_start or line.text[end:].strip() != "")
            if strong or (at_start and len(label.words) > 1):
                found.append((len(label.joined), score, Match(rule.name, start, end, score, strong)))
    kept: list[Match] = []
    for _, _, match in sorted(found, key=lambda item: (-item[0], -item[1])):
        if all(match.end <= k.start or match.start >= k.end for k in kept):
            kept.append(match)
    return sorted(kept, key=lambda m: m.start)


def clean(raw: str) -> str:
    value = nfc(raw).strip(_LEAD)
    value = _TRAILING_NUMBER.sub("", value)
    return re.sub(r"\s+", " ", value.rstrip(_TRAIL)).strip()


def normalise(kind: str, raw: str) -> Value | None:
    """The value of a kind from its printed text; None when the text is not that kind at all."""
    folded = fold(raw)
    if kind == "text":
        return Value(raw) if re.search(r"[^\W_]", raw) else None
    if kind == "name":  # two to six words of letters: a Vietnamese full name
        letters = re.sub(r"[^\w\s]|\d|_", " ", raw).split()
        return Value(title_case(" ".join(letters))) if 2 <= len(letters) <= 6 else None
    if kind == "sex":
        word = re.findall(r"[a-z]+", folded)[:1]
        return Value({"nam": "Nam", "nu": "Nữ"}[word[0]]) if word and word[0] in ("nam", "nu") else None
    if kind == "date":
        return _date(folded)
    if kind in ("id_number", "phone", "tax_code"):
        digits = _digits(raw)
        if not digits:
            return None
        if kind == "id_number":
            return Value(digits, None if len(digits) in (9, 12) else f"{len(digits)} digits; an ID number has 9 or 12")
        if kind == "phone":
            digits = "0" + digits[2:] if digits.startswith("84") and len(digits) == 11 else digits
            ok = digits.startswith("0") and len(digits) in (10, 11)
            return Value(digits, None if ok else "not a Vietnamese phone number")
        code = re.search(r"\d{10}(?:-\d{3})?", re.sub(r"\s", "", raw.translate(_DIGIT_LOOKALIKES)))
        return Value(code.group()) if code else Value(digits, "a tax code has 10 digits (or 10-3)")
    if kind == "money":
        number = re.search(r"\d{1,3}(?:[.,\s]\d{3})+(?!\d)|\d+", raw)
        return Value(int(re.sub(r"\D", "", number.group()))) if number else None
    if kind == "area":
        return _area(raw)
    if kind == "count":
        number = re.search(r"\d+", raw)
        return Value(int(number.group())) if number else None
    if kind == "number":  # a parcel or sheet number: "125", "12a"
        number = re.search(r"\d+[A-Za-z]?", raw)
        return Value(number.group()) if number else None
    if kind == "code":
        code = PORTAL_CODE.search(re.sub(r"\s", "", raw).upper())
        return Value(code.group()) if code else None
    raise ValueError(f"unknown kind {kind!r}")


def _digits(raw: str) -> str:
    """The first number of the text, spaces and dots inside it dropped, OCR look-alikes mended."""
    for run in re.findall(r"[0-9OoDQIl|iSBZ][0-9OoDQIl|iSBZ .]*", raw):
        digits = re.sub(r"[ .]", "", run).translate(_DIGIT_LOOKALIKES)
        if digits.isdigit() and sum(c.isdigit() for c in run) >= max(3, len(digits) // 2):
            return digits
    return ""


def _date(folded: str) -> Value | None:
    found = (re.search(r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})", folded)
             or re.search(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})", folded))
    if not found:
        return None
    day, month, year = (int(g) for g in found.groups())
    iso = f"{year:04d}-{month:02d}-{day:02d}"
    try:
        date(year, month, day)
    except ValueError:
        return Value(iso, "no such date")
    return Value(iso, None if 1900 <= year <= 2100 else "year out of range")


def _area(raw: str) -> Value | None:
    number = re.search(r"\d[\d.,]*", raw)
    if not number:
        return None
    text = number.group().rstrip(".,")
    if "," in text:  # Vietnamese: "," is the decimal mark, "." groups thousands
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    try:
        return Value(float(text))
    except ValueError:
        return None


def sections(lines: list[Line], doc_type: DocType, min_score: float) -> dict[str, list[int]]:
    """For each declared section, the indices of its lines (a section ends where the next begins).

    A section starts at the first line that opens with one of its headings
    better than with any other section's: "tên người mẹ" and "tên người cha"
    differ by one word, and fuzzy matching alone would take either for both.
    """
    starts = {name: 0 for name, headings in doc_type.sections.items() if not headings}
    for index, line in enumerate(lines):
        scores = {}
        for name, headings in doc_type.sections.items():
            hits = [find_phrase(line, heading, min_score, anchored=True) for heading in headings]
            scores[name] = max((hit[2] for hit in hits if hit), default=0.0)
        best = max(scores, key=scores.get, default=None)
        if best is not None and scores[best] > 0 and best not in starts:
            starts[best] = index
    ordered = sorted((start, name) for name, start in starts.items())
    return {name: list(range(start, following[0]))
            for (start, name), following in zip(ordered, [*ordered[1:], (len(lines), None)])}


def mend_family_name(name: str, family_names: dict[str, str]) -> str:
    """The name with its first word spelt as the family name it folds to ("Nguyên Văn An" -> "Nguyễn Văn An")."""
    first, _, rest = name.partition(" ")
    known = family_names.get(fold(first))
    return f"{known} {rest}" if known and rest else name


def extract_fields(lines: list[Line], doc_type: DocType, thresholds: Thresholds,
                   family_names: dict[str, str] | None = None) -> dict[str, dict]:
    """Each field found in the document's lines, as the record contract states it."""
    in_section = {name: set(indices) for name, indices in
                  sections(lines, doc_type, thresholds.label_min_score).items()}
    # A line is matched only against the labels of the fields allowed there: the two parties
    # of a power of attorney print the same labels, each in its own section.
    matches = [label_matches(line, [r for r in doc_type.fields if not r.section or i in in_section.get(r.section, ())],
                             thresholds.label_min_score) for i, line in enumerate(lines)]
    fields: dict[str, dict] = {}
    for rule in doc_type.fields:
        for index, line_matches in enumerate(matches):
            found = next((value for m in line_matches if m.field == rule.name
                          for value in [_value_after(lines, matches, index, m, rule.kind)] if value), None)
            if found:
                fields[rule.name] = found
                break
    for rule in doc_type.fields:
        if rule.kind == "name" and rule.name in fields and family_names:
            fields[rule.name]["value"] = mend_family_name(fields[rule.name]["value"], family_names)
    for check in doc_type.person_checks:
        _check_person(fields, check.id, check.sex, check.birth)
    return fields


def _value_after(lines: list[Line], matches: list[list[Match]], index: int, match: Match, kind: str) -> dict | None:
    """The field's value after its label: on the same line, or else on the next line."""
    line = lines[index]
    following = [m.start for m in matches[index] if m.start >= match.end]
    candidates = [(line, match.end, following[0] if following else len(line.text))]
    # The next line is the value only if it is not a "label: value" line of its own: a label
    # left blank must not take the next item's words (labels of other sections included).
    if index + 1 < len(lines) and lines[index + 1].page == line.page and ":" not in lines[index + 1].text:
        below = lines[index + 1]
        labels_below = [m.start for m in matches[index + 1]]
        candidates.append((below, 0, labels_below[0] if labels_below else len(below.text)))
    for where, start, end in candidates:
        raw = clean(where.text[start:end])
        if not raw:
            continue
        value = normalise(kind, raw)
        if value is None:
            return None
        tokens = where.span_tokens(start + where.text[start:end].find(raw[:1]), end)
        confidence = sum(t.confidence for t in tokens) / len(tokens) if tokens else 0.0
        box = [min(t.bbox[0] for t in tokens), min(t.bbox[1] for t in tokens),
               max(t.bbox[2] for t in tokens), max(t.bbox[3] for t in tokens)] if tokens else None
        return {"value": value.value, "raw": raw, "confidence": round(confidence * match.score / 100, 2),
                "page": where.page, "bbox": box, "valid": value.problem is None,
                **({"problem": value.problem} if value.problem else {})}
    return None


def _check_person(fields: dict[str, dict], id_field: str, sex_field: str | None, birth_field: str | None) -> None:
    """A 12-digit citizen ID encodes province, century and sex, and birth year: they must agree."""
    found = fields.get(id_field)
    if not found or not found["valid"] or len(found["value"]) != 12:
        return
    number = found["value"]
    problems = []
    if int(number[:3]) not in PROVINCES:
        problems.append(f"province code {number[:3]} does not exist")
    century_sex = int(number[3])
    sex = fields.get(sex_field or "")
    if sex and sex["valid"] and century_sex <= 9 and ("Nữ" if century_sex % 2 else "Nam") != sex["value"]:
        problems.append(f"its sex digit says {'Nữ' if century_sex % 2 else 'Nam'}, the document {sex['value']}")
    birth = fields.get(birth_field or "")
    if birth and birth["valid"]:
        year = 1900 + 100 * (century_sex // 2) + int(number[4:6])
        if str(year) != birth["value"][:4]:
            problems.append(f"its birth year digits say {year}, the document {birth['value'][:4]}")
    if problems:
        found.update(valid=False, problem="; ".join(problems))
