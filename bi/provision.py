"""Provision Superset from the dashboards as code: run by ``bi.local`` with the Superset virtualenv's
Python (never the pipeline's), SUPERSET_CONFIG_PATH set and DGWH_BI_URI the warehouse as bi_reader.

Imports ``bi/superset/`` (the database with its real address and password, a dataset per mart, the
charts and the three dashboards; overwriting earlier imports, by UUID), then reads each dataset's
columns from the warehouse and gives them Thai labels."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import yaml

BUNDLE = Path(__file__).resolve().parent / "superset"
DATABASE_FILE = "databases/DG_warehouse_marts.yaml"
THAI_LABELS = {
    "fiscal_year_be": "ปีงบประมาณ (พ.ศ.)", "reporting_fy_be": "ปีที่รายงาน (พ.ศ.)",
    "survey_year_be": "ปีที่สำรวจ (พ.ศ.)", "planned_start_fy_be": "ปีที่เริ่มตามแผน (พ.ศ.)",
    "actual_start_fy_be": "ปีที่เริ่มจริง (พ.ศ.)", "plan_code": "แผน", "project_id": "รหัสโครงการ",
    "project_code": "รหัสโครงการ", "project_name_th": "ชื่อโครงการ", "strategy_no": "ยุทธศาสตร์ที่",
    "lead_agency_name_th": "หน่วยงานรับผิดชอบหลัก", "agency_name_th": "หน่วยงาน", "status": "สถานะ",
    "years_behind": "ล่าช้า (ปี)", "is_behind_plan": "ล่าช้ากว่าแผน", "obstacle_categories_th": "ปัญหาอุปสรรค",
    "obstacle_note_th": "รายละเอียดปัญหาอุปสรรค", "category": "ด้าน", "bill_baht": "ใน พ.ร.บ. (บาท)",
    "allocated_baht": "ได้รับจัดสรร (บาท)", "requested_baht": "คำของบประมาณ (บาท)", "match_rule": "กฎการจับคู่",
    "approach_name_th": "แนวทาง", "focus_area_name_th": "ด้าน", "agency_level": "ระดับหน่วยงาน",
    "overall_score": "คะแนนรวม", "readiness_band": "ระดับความพร้อม", "rank_in_level": "อันดับในระดับ",
    "score_change": "เปลี่ยนแปลงจากปีก่อน", "budget_plan_code": "แผนงาน", "line_items": "รายการ",
    "line_items_unparsed": "รายการที่อ่านจำนวนเงินไม่ได้", "line_items_with_warnings": "รายการที่มีคำเตือน",
    "amount_million_baht": "ล้านบาท", "dimension_name_th": "มิติ", "bill_fy_be": "ปีงบประมาณของ พ.ร.บ. (พ.ศ.)",
    "ref_doc": "เล่ม", "is_loaded": "นำเข้าแล้ว", "lines_loaded": "รายการที่นำเข้า", "lines_rejected": "รายการที่ปฏิเสธ",
    "obligation_lines": "รายการผูกพันปีอื่น", "amount_baht": "จำนวนเงิน (บาท)",
}


def bundle_contents(uri: str) -> tuple[dict[str, str], dict[str, str]]:
    from sqlalchemy.engine.url import make_url

    url = make_url(uri)
    contents = {str(p.relative_to(BUNDLE)): p.read_text(encoding="utf-8") for p in sorted(BUNDLE.rglob("*.yaml"))}
    database = yaml.safe_load(contents[DATABASE_FILE])
    database["sqlalchemy_uri"] = url.set(password="XXXXXXXXXX").render_as_string(hide_password=False)
    contents[DATABASE_FILE] = yaml.safe_dump(database, allow_unicode=True, sort_keys=False)
    return contents, {DATABASE_FILE: url.password or ""}


def main() -> int:
    uri = os.environ["DGWH_BI_URI"]
    admin = os.environ.get("SUPERSET_ADMIN_USER", "admin")
    from superset.app import create_app

    app = create_app()
    with app.app_context(), app.test_request_context():
        from flask import g
        from superset import db, security_manager
        from superset.commands.chart.importers.dispatcher import ImportChartsCommand
        from superset.commands.dashboard.importers.dispatcher import ImportDashboardsCommand
        from superset.commands.dataset.importers.dispatcher import ImportDatasetsCommand
        from superset.connectors.sqla.models import SqlaTable
        from superset.models.core import Database

        g.user = security_manager.find_user(username=admin)
        contents, passwords = bundle_contents(uri)
        # A connection registered by name before (the compose stack's superset-init: set-database-uri)
        # becomes the bundle's, so the import updates it instead of clashing on the name.
        bundle_db = yaml.safe_load(contents[DATABASE_FILE])
        existing = db.session.query(Database).filter_by(database_name=bundle_db["database_name"]).one_or_none()
        if existing is not None and str(existing.uuid) != bundle_db["uuid"]:
            existing.uuid = uuid.UUID(bundle_db["uuid"])
            db.session.commit()
        # A dashboard import leaves existing datasets and charts as they are, so those are imported
        # (overwritten) first, each with the bundle type its command expects.
        for command, kind, parts in ((ImportDatasetsCommand, "SqlaTable", ("databases/", "datasets/")),
                                     (ImportChartsCommand, "Slice", ("databases/", "datasets/", "charts/"))):
            subset = {k: v for k, v in contents.items() if k.startswith(parts)}
            subset["metadata.yaml"] = yaml.safe_dump({**yaml.safe_load(contents["metadata.yaml"]), "type": kind})
            command(subset, passwords=passwords, overwrite=True).run()
        ImportDashboardsCommand(contents, passwords=passwords, overwrite=True).run()
        datasets = db.session.query(SqlaTable).filter_by(schema="marts").all()
        missing = []
        for ds in datasets:
            try:
                ds.fetch_metadata()
            except Exception as exc:  # noqa: BLE001 - a mart not built yet must not stop the others
                db.session.rollback()
                missing.append(f"{ds.table_name} ({type(exc).__name__})")
                continue
            for col in ds.columns:
                if col.column_name in THAI_LABELS:
                    col.verbose_name = THAI_LABELS[col.column_name]
            db.session.commit()
        print(f"superset: {len(datasets)} datasets, {len(contents)} files imported from {BUNDLE}")
        if missing:
            print(f"superset: columns not read (mart not built yet? provision again after the nightly): "
                  f"{', '.join(missing)}", file=sys.stderr)
    return 1 if missing and os.environ.get("DGWH_BI_STRICT") else 0


if __name__ == "__main__":
    sys.exit(main())
