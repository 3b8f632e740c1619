"""One settings object: YAML, then SOHOA_* environment variables, then local stack keys."""

from __future__ import annotations

import json

import pytest

from pipeline.settings import REPO_CONFIG, SettingsError, load_settings


def test_repo_config_loads_with_its_documented_defaults(tmp_path):
    settings = load_settings(env={"SOHOA_STATE_DIR": str(tmp_path)})
    assert settings.bucket == "dossiers" and settings.languages == ["vie"] and settings.dpi == 300
    assert settings.s3_address == f"127.0.0.1:{settings.stack_s3_port}"
    assert settings.broker_address == f"redis://127.0.0.1:{settings.stack_redis_port}/0"
    assert settings.s3_access_key is None  # no keys in any file under git


def test_environment_overrides_yaml(tmp_path):
    settings = load_settings(env={
        "SOHOA_STATE_DIR": str(tmp_path), "SOHOA_BROKER_URL": "amqp://guest:guest@mq:5672/",
        "SOHOA_S3_ENDPOINT": "minio.internal:9000", "SOHOA_S3_SECURE": "true",
        "SOHOA_DPI": "200", "SOHOA_LANGUAGES": "vie+eng", "SOHOA_WORKER_PROCESSES": "8",
    })
    assert settings.broker_address == "amqp://guest:guest@mq:5672/"
    assert settings.s3_address == "minio.internal:9000" and settings.s3_secure is True
    assert (settings.dpi, settings.languages, settings.worker_processes) == (200, ["vie", "eng"], 8)


def test_local_stack_keys_fill_missing_credentials(tmp_path):
    (tmp_path / "credentials.json").write_text(json.dumps({"access_key": "a", "secret_key": "s"}))
    settings = load_settings(env={"SOHOA_STATE_DIR": str(tmp_path)})
    assert (settings.s3_access_key, settings.s3_secret_key) == ("a", "s")
    assert settings.public()["s3_secret_key"] == "***"


@pytest.mark.parametrize("env, message", [
    ({"SOHOA_DPI": "high"}, "'dpi'"),
    ({"SOHOA_S3_SECURE": "maybe"}, "'s3_secure'"),
])
def test_bad_values_name_the_setting(tmp_path, env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(env={"SOHOA_STATE_DIR": str(tmp_path), **env})


def test_unknown_or_missing_keys_are_errors(tmp_path):
    config = tmp_path / "settings.yaml"
    config.write_text(REPO_CONFIG.read_text() + "\ncolour: blue\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(env={"SOHOA_CONFIG": str(config)})
    config.write_text("\n".join(l for l in REPO_CONFIG.read_text().splitlines() if not l.startswith("dpi:")))
    with pytest.raises(SettingsError, match="'dpi' is missing"):
        load_settings(env={"SOHOA_CONFIG": str(config)})
