"""The document types a deployment knows, read from config/document-types.yaml.

Everything about a type (its titles, sections, field labels and
value kinds) is data in that file, so adding a type or a label wording needs
no code. Text is kept folded (pipeline.text.fold) for matching.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.text import fold, fold_words, nfc

OTHER = "khac"  # anything that is none of the configured types
KINDS = {"name", "text", "date", "id_number", "sex", "phone", "money", "area", "count", "code", "tax_code", "number"}


class DocumentTypesError(ValueError):
    """The document types file is wrong; the message names the type and key."""


@dataclass(frozen=True)
class Phrase:
    """A printed wording: as written in config, and folded into words for matching."""

    printed: str
    words: tuple[str, ...]

    @property
    def joined(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class FieldRule:
    name: str
    labels: tuple[Phrase, ...]
    kind: str
    section: str | None = None


@dataclass(frozen=True)
class PersonCheck:
    """Which ID number is checked against which sex and date of birth fields."""

    id: str
    sex: str | None
    birth: str | None


@dataclass(frozen=True)
class DocType:
    code: str
    titles: tuple[Phrase, ...]
    receipt: bool
    sections: dict[str, tuple[Phrase, ...]]  # name -> headings; empty tuple: from the top
    fields: tuple[FieldRule, ...]
    person_checks: tuple[PersonCheck, ...]


@dataclass(frozen=True)
class Thresholds:
    title_lines: int
    title_min_score: float
    label_min_score: float
    min_type_confidence: float
    classifier_min_start: float
    min_field_confidence: float
    blank_max_characters: int


@dataclass(frozen=True)
class DocumentTypes:
    thresholds: Thresholds
    start_markers: tuple[Phrase, ...]
    separator_phrases: tuple[Phrase, ...]
    types: dict[str, DocType]
    family_names: dict[str, str]  # folded -> as written, for mending names OCR misread

    @property
    def codes(self) -> list[str]:
        return [*self.types, OTHER]


def phrases(value: str | None) -> tuple[Phrase, ...]:
    """Variants written "A | B | C" in the file."""
    return tuple(Phrase(p.strip(), tuple(fold_words(p))) for p in (value or "").split("|") if p.strip())


def load_document_types(path: Path) -> DocumentTypes:
    """Read and check the file; an error names the type and the key to fix."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DocumentTypesError(f"{path}: cannot read document types ({exc})") from exc
    try:
        thresholds = Thresholds(**raw["settings"])
    except (KeyError, TypeError) as exc:
        raise DocumentTypesError(f"{path}: `settings` needs exactly {list(Thresholds.__annotations__)}") from exc
    types = {}
    for code, spec in (raw.get("types") or {}).items():
        where = f"{path}: type {code}"
        if not phrases(spec.get("titles")):
            raise DocumentTypesError(f"{where}: give at least one title")
        fields = []
        for name, rule in (spec.get("fields") or {}).items():
            if rule.get("kind") not in KINDS:
                raise DocumentTypesError(f"{where}, field {name}: kind must be one of {sorted(KINDS)}")
            if rule.get("section") and rule["section"] not in (spec.get("sections") or {}):
                raise DocumentTypesError(f"{where}, field {name}: section {rule['section']!r} is not declared")
            if not phrases(rule.get("labels")):
                raise DocumentTypesError(f"{where}, field {name}: give at least one label")
            fields.append(FieldRule(name, phrases(rule["labels"]), rule["kind"], rule.get("section")))
        sections = {name: () if str(value).strip() == "start" else phrases(value)
                    for name, value in (spec.get("sections") or {}).items()}
        checks = tuple(PersonCheck(c["id"], c.get("sex"), c.get("birth")) for c in spec.get("person_checks") or [])
        types[code] = DocType(code, phrases(spec["titles"]),
                              bool(spec.get("receipt")), sections, tuple(fields), checks)
    if OTHER in types:
        raise DocumentTypesError(f"{path}: `{OTHER}` is the built-in type for everything else; do not declare it")
    return DocumentTypes(thresholds, phrases(raw.get("start_markers")), phrases(raw.get("separator_phrases")), types,
                         _family_names(path.parent / raw["family_names"]) if raw.get("family_names") else {})


def _family_names(path: Path) -> dict[str, str]:
    """The word list as folded -> written; a folded form shared by two names maps to neither."""
    try:
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise DocumentTypesError(f"{path}: cannot read the family names ({exc.strerror})") from exc
    folded = Counter(fold(name) for name in names)
    return {fold(name): nfc(name) for name in names if folded[fold(name)] == 1}
