"""The one settings object: config/settings.yaml, then SOHOA_* environment variables.

Everything configurable is read here and passed down as a `Settings` value, so
a stage never reaches for a global or an environment variable of its own.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

import yaml

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "settings.yaml"


class SettingsError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


@dataclass(frozen=True)
class Settings:
    broker_url: str | None
    s3_endpoint: str | None
    s3_access_key: str | None
    s3_secret_key: str | None
    s3_secure: bool
    s3_region: str
    bucket: str
    staging_bucket: str
    state_dir: Path
    stack_redis_port: int
    stack_s3_port: int
    worker_processes: int
    worker_threads: int
    max_retries: int
    retry_min_backoff_ms: int
    retry_max_backoff_ms: int
    stage_time_limit_s: int
    broker_heartbeat_timeout_s: int
    outage_patience_s: int
    scanner_driver: str
    scanner_device: str | None
    scanner_source: str
    scanner_mode: str
    scanner_page_size: str
    watch_dossier_pattern: str
    watch_settle_s: int
    watch_interval_s: int
    dpi: int
    max_page_pixels: int
    languages: list[str]
    tesseract_psm: int
    jpeg_quality: int
    timezone: str
    document_types: Path
    classifier_model: Path

    @property
    def credentials_file(self) -> Path:
        """Where `sohoa stack up` keeps the keys it generated for the local S3 server."""
        return self.state_dir / "credentials.json"

    @property
    def s3_address(self) -> str:
        """host:port of the S3 server: the configured one, or the local stack's."""
        return self.s3_endpoint or f"127.0.0.1:{self.stack_s3_port}"

    @property
    def broker_address(self) -> str:
        """The broker URL: the configured one, or the local stack's Redis."""
        return self.broker_url or f"redis://127.0.0.1:{self.stack_redis_port}/0"

    def public(self) -> dict[str, Any]:
        """The settings as plain data, secret key masked, for `--json` and logs."""
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}
        if data["s3_secret_key"]:
            data["s3_secret_key"] = "***"
        return data


def _convert(key: str, raw: Any, kind: Any) -> Any:
    """Turn a YAML or environment value into the declared type of `key`."""
    if raw is None:
        if "None" in str(kind):
            return None
        raise SettingsError(f"setting {key!r} may not be empty")
    text = raw if isinstance(raw, str) else None
    try:
        if kind is bool:
            if text is not None:
                if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(text)
                return text.lower() in ("1", "true", "yes")
            return bool(raw)
        if kind is int:
            return int(raw)
        if kind is Path:
            return Path(raw)
        if kind == list[str]:
            if text is not None:
                return [part for part in text.replace("+", ",").split(",") if part]
            return [str(part) for part in raw]
        return None if text in ("", "null") else str(raw)
    except ValueError:
        raise SettingsError(f"setting {key!r}: cannot read {raw!r} as {kind}") from None


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the YAML file (SOHOA_CONFIG or config/settings.yaml), then the environment.

    Missing S3 keys are taken from the local stack's credentials file, which is
    how a developer's machine works with no secrets in any file under git.
    """
    env = dict(os.environ if env is None else env)
    path = Path(env.get("SOHOA_CONFIG") or path or REPO_CONFIG)
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"cannot read settings file {path}: {exc.strerror}") from None
    hints = get_type_hints(Settings)
    unknown = set(values) - set(hints)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}")
    for key in hints:
        if f"SOHOA_{key.upper()}" in env:
            values[key] = env[f"SOHOA_{key.upper()}"]
        if key not in values:
            raise SettingsError(f"{path}: setting {key!r} is missing")
    settings = Settings(**{key: _convert(key, values[key], hints[key]) for key in hints})
    # Files named in the settings file are found beside it, wherever it is run from.
    settings = dataclasses.replace(settings, document_types=path.parent / settings.document_types,
                                   classifier_model=path.parent / settings.classifier_model)
    if settings.s3_access_key is None and settings.credentials_file.exists():
        keys = json.loads(settings.credentials_file.read_text())
        settings = dataclasses.replace(
            settings, s3_access_key=keys["access_key"], s3_secret_key=keys["secret_key"]
        )
    return settings

