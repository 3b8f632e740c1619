"""Batch jobs on a small archive (conftest.py `archive`), through the real stack: plan, hand in, follow, report, resume."""

from __future__ import annotations

import csv
import io
import json

from pipeline import dossier as keys
from pipeline import jobs
from tests.helpers import run_sohoa


def job_ids() -> list[str]:
    return [job["job_id"] for job in json.loads(run_sohoa("jobs", "list", "--json").stdout)]


def test_an_archive_becomes_a_job_with_a_report(workers, workspace, archive, tmp_path):
    archive, ids = archive
    result = run_sohoa("batch", str(archive), "--json", timeout=400)
    answer = json.loads(result.stdout)
    rows = {row["dossier_id"]: row for row in answer["dossiers"]}
    assert result.returncode == 4, result.stderr  # one dossier failed: the job went on and says so
    assert (rows[ids[0]]["status"], rows[ids[0]]["documents"], rows[ids[0]]["pages"]) == ("complete", 2, 3)
    assert (rows[ids[1]]["status"], rows[ids[1]]["pages"]) == ("complete", 2)
    assert rows[ids[2]]["types"] == ["phieu_tiep_nhan", "khac"]  # the box was named by its receipt
    assert rows[ids[3]]["status"] == "failed" and "damaged" in rows[ids[3]]["reasons"][0]
    assert answer["refused"] == 1 and answer["items"] == 5

    job_id = answer["job_id"]
    assert job_id in job_ids()
    # A poll looks at a window of the stacks not yet seen finished, in hand-in order: here one at a time.
    job, entries, finished = jobs.load(workspace, job_id), jobs.handed_in(workspace, job_id), {}
    stacks = sum(1 for entry in entries.values() if not entry["refused"])
    for looked in range(1, stacks):
        assert not jobs.progress(workspace, job, entries, finished, window=1).complete
        assert len(finished) == looked
    assert jobs.progress(workspace, job, entries, finished, window=1).complete and len(finished) == stacks
    shown = json.loads(run_sohoa("jobs", "show", job_id, "--json").stdout)
    assert shown["complete"] and shown["progress"]["pages_read"] == shown["progress"]["pages"] == 7
    report = run_sohoa("jobs", "report", job_id, "--csv")
    table = list(csv.DictReader(io.StringIO(report.stdout)))
    assert {row["dossier_id"] for row in table} >= set(ids)
    stored = {row["dossier_id"]: row for row in table}[ids[1]]
    manifest = workspace.records.get_json(keys.manifest_key(ids[1]))
    assert stored["sha256"] == " ".join(d["sha256"] for d in manifest["documents"])
    assert stored["files"].endswith(f"{ids[1]}.tif")


def test_a_job_whose_command_died_is_resumed_and_nothing_is_done_twice(workers, workspace, archive):
    archive, ids = archive
    down = run_sohoa("batch", str(archive), env={"SOHOA_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert down.returncode == 5 and "Traceback" not in down.stderr  # the broker was away: the job stopped
    job_id = job_ids()[-1]
    assert json.loads(run_sohoa("jobs", "show", job_id, "--json").stdout)["progress"]["handed_in"] == 0

    resumed = run_sohoa("jobs", "resume", job_id, "--json", timeout=400)
    assert resumed.returncode == 4, resumed.stderr
    stored = {prefix: sorted(workspace.records.keys(f"{prefix}/")) for prefix in ids}
    assert all(stored[dossier_id] for dossier_id in ids[:3])

    again = run_sohoa("jobs", "resume", job_id, "--json", timeout=120)
    assert again.returncode == 4
    assert {prefix: sorted(workspace.records.keys(f"{prefix}/")) for prefix in ids} == stored
    assert json.loads(again.stdout)["dossiers"] == json.loads(resumed.stdout)["dossiers"]


def test_a_source_that_is_no_archive_is_refused(stack, tmp_path):
    (tmp_path / "empty").mkdir()
    said = lambda result: " ".join(result.stderr.split())  # noqa: E731  (the terminal wraps long lines)
    result = run_sohoa("batch", str(tmp_path / "empty"))
    assert result.returncode == 2 and "no files in it" in said(result)
    bad = tmp_path / "list.csv"
    bad.write_text("dossier_id,path\n../x,a.pdf\n", encoding="utf-8")
    result = run_sohoa("batch", str(bad))
    assert result.returncode == 2 and "line 1" in said(result) and "may hold only letters" in said(result)
    assert run_sohoa("jobs", "show", "job-0").returncode == 2


def test_a_csv_names_the_dossier_of_each_file(workers, workspace, archive, tmp_path):
    archive, ids = archive
    listing = tmp_path / "danh-sach.csv"
    listing.write_text(f"dossier_id,path,procedure\n{ids[1]},kho/{ids[1]}.tif,Đăng ký đất đai\n"
                       f"{ids[0]},kho/{ids[0]}/don.pdf,\n", encoding="utf-8")
    result = run_sohoa("batch", str(listing), "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {row["dossier_id"]: row for row in json.loads(result.stdout)["dossiers"]}
    assert set(rows) == {ids[0], ids[1]}
    assert (rows[ids[0]]["documents"], rows[ids[0]]["pages"]) == (1, 2)
    assert rows[ids[1]]["files"] == [str(archive / f"{ids[1]}.tif")]
