"""A run's failed tasks and the earlier runs nobody reported, as the summary names them (no warehouse)."""

from __future__ import annotations

from nightly.summary import failed_task_lines, failed_tasks, format_summary, unreported_lines


def test_a_failed_load_batch_is_named_with_the_files_it_held_and_those_not_loaded():
    batches = [[{"relative_path": "readiness/2566/a.csv"}],
               [{"relative_path": "integration_plan/2566/b.csv"}, {"relative_path": "integration_plan/2566/c.csv"}]]
    states = {"take_run_lock": "success", "load_files_0": "success", "load_files_1": "failed",
              "loads_done": "success", "dbt.stg_x_model_build": "failed", "dbt_cross_model_tests": "upstream_failed",
              "summarise": "running"}
    failed = failed_tasks(states, batches, loaded_paths={"readiness/2566/a.csv", "integration_plan/2566/c.csv"})
    assert failed == [
        {"task": "dbt.stg_x_model_build", "state": "failed", "files": [], "not_loaded": []},
        {"task": "load_files[1]", "state": "failed", "files": ["integration_plan/2566/b.csv",
                                                               "integration_plan/2566/c.csv"],
         "not_loaded": ["integration_plan/2566/b.csv"]}]
    assert failed_task_lines({"failed_tasks": failed}) == [
        "FAILED task dbt.stg_x_model_build",
        "FAILED task load_files[1]: held 2 file(s), 1 not loaded (tried again next run): integration_plan/2566/b.csv"]
    assert failed_tasks({"load_files_0": "success", "summarise": "running"}, batches, set()) == []


def test_earlier_runs_without_a_summary_are_listed_with_their_files_on_visible_lines():
    nights = [{"run_id": "manual__1", "status": "killed", "started_at": "2026-12-07 02:00:00 +07",
               "loaded": ["readiness/2566/a.csv"], "rejected": [{"path": "x\nfiles loaded: 9", "reason": "bad"}]}]
    assert unreported_lines({"unreported": nights}) == [
        "earlier runs that ended without a summary: 1",
        "  - manual__1: killed (started 2026-12-07 02:00:00 +07), 1 file(s) loaded, 1 rejected",
        "      loaded: readiness/2566/a.csv",
        "      rejected: x\\u000afiles loaded: 9: bad"]
    summary = {"run_id": "r2", "warehouse": "w", "files": {}, "rejected": [], "marts": {}, "unmatched_agencies": [],
               "dbt": {}, "checks": [], "unreported": nights,
               "failed_tasks": [{"task": "take_run_lock", "state": "failed", "files": [], "not_loaded": []}]}
    lines = format_summary(summary).splitlines()
    assert "FAILED task take_run_lock" in lines and "earlier runs that ended without a summary: 1" in lines
    assert unreported_lines({}) == [] and failed_task_lines({}) == []


def test_a_load_batchs_progress_line_counts_each_file_once_and_names_those_not_loaded():
    from nightly.progress import batch_line

    changed = [{"path": f"readiness/2566/{n}.csv", "status": "skipped",
                "reason": f"readiness/2566/{n}.csv changed after it was found (sha256 0a… at discovery, 1b… now): "
                          "left for the next run"} for n in "wxyz"]
    files = [{"path": "readiness/2566/a.csv", "status": "loaded"},
             {"path": "readiness/2566/b.csv", "status": "rejected"},
             {"path": "readiness/2566/c.csv", "status": "skipped", "reason": "already loaded by another run"}, *changed]
    line = batch_line(2, 5, "success", "readiness: 7 file(s), readiness/2566/a.csv (+6 more)", files)
    assert line == ("batch 2 of 5 done: readiness: 7 file(s), readiness/2566/a.csv (+6 more): 1 loaded, 1 rejected, "
                    "5 not loaded: readiness/2566/c.csv (already loaded by another run); readiness/2566/w.csv "
                    "(changed after it was found: left for the next run); readiness/2566/x.csv (changed after it was "
                    "found: left for the next run); +2 more (see the summary)")
    assert batch_line(1, 5, "success", "readiness: 2 file(s), readiness/2566/a.csv (+1 more)", files[:2]) == \
        "batch 1 of 5 loaded: readiness: 2 file(s), readiness/2566/a.csv (+1 more): 1 loaded, 1 rejected"
    assert batch_line(3, 5, "failed", "x", None) == "batch 3 of 5 failed: x"
