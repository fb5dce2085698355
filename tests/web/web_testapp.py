"""A small app built only from web/'s pieces, with a real SQLite store and real accounts.

Its own module (not conftest.py) so that tests import it by a name no other folder uses.

Accounts are projected from record-like `staff.account` bodies, exactly as an app would from
records signed by central; the app is served by waitress on 127.0.0.1 (tests/serving.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask, flash, redirect, render_template_string, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

import web
from store import accounts
from store.db import open_db
from web.passwords import hash_password

PASSWORD = "correct-horse-7"
NOTICE = {
    "title": "补办件通知单",
    "number": "BZ-T0001-2026-000123",
    "case": "T0001-20261125-0007",
    "date": dt.date(2026, 11, 25),
    "place": "如皋市丁堰镇便民服务中心",
    "applicant": "王小明",
    "fields": [("Service item", "个体工商户设立登记"), ("ID number", "320682********1234"),
               ("Phone", "138****5678")],
    "lines": [
        "您申请的事项材料不齐全，根据一次告知制，请一次补齐下列全部材料后再来办理：",
        "补齐材料后，凭本通知单到原窗口办理，无需重新排队。",
    ],
    "table": {"columns": ["序号", "材料名称", "要求"], "rows": [
        ["1", "经营场所使用证明（房产证或租赁合同）", "原件及复印件各1份"],
        ["2", "经营者身份证明", "原件"],
        ["3", "全体投资人签署的承诺书", "原件，须本人签字"],
    ]},
    "legal": "依据《中华人民共和国行政许可法》第三十二条：申请材料不齐全的，应当当场或者在五日内一次告知申请人需要补正的全部内容。",
}

PAGE = """{% extends "base.html" %}{% import "macros.html" as ui with context %}
{% block title %}{{ title }}{% endblock %}
{% block content %}<h1>{{ title }}</h1>
{% if form %}{{ ui.error_summary(errors) }}<form method="post" class="form" id="the-form">{{ ui.csrf_field() }}
{{ ui.field('applicant', _('Applicant'), values, errors, required=true) }}
{{ ui.field('id_number', _('ID number'), values, errors, required=true) }}
{{ ui.textarea('remark', _('Note'), values, errors) }}
<div class="actions"><button type="submit" class="button primary">保存</button></div></form>{% endif %}
{% if rows %}{{ ui.table([('case', _('Case number')), ('name', _('Applicant')), ('id', _('ID number')),
 ('fee', _('Fees'), 'money'), ('date', _('Received'))], rows) }}{% endif %}
{% endblock %}"""


_HASHES: dict[str, str] = {}


def cached_hash(password: str) -> str:
    """scrypt costs ~0.2 s here; every test app reuses one hash per password."""
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


def account_body(username: str, roles: list[str], *, version: int = 1, active: bool = True,
                 password: str = PASSWORD, places: list[str] | None = None) -> dict[str, Any]:
    return {
        "username": username,
        "display_name": {"zhangsan": "张三", "wangwu": "王五"}.get(username, username),
        "password_hash": cached_hash(password),
        "roles": roles,
        "places": places or ["T0001"],
        "active": active,
        "version": version,
    }


def make_app(data_dir: Path, **config: Any) -> Flask:
    """The test app: a home page, a form, an admin-only page and a notice."""
    app = Flask("webtest")
    app.config.update(config)
    db_path = data_dir / "app.sqlite"
    db = open_db(db_path)
    accounts.ensure_schema(db)
    accounts.project(db, account_body("zhangsan", ["town_clerk"]))
    accounts.project(db, account_body("wangwu", ["admin", "supervisor"], places=["*"]))
    accounts.project(db, account_body("elsewhere", ["village_clerk"], places=["V000001"]))
    db.close()
    web.init_app(
        app,
        store_db_getter=web.per_request_db(app, db_path),
        place_name="如皋市丁堰镇便民服务中心",
        nav=[
            web.NavEntry("home", _l("Cases")),
            web.NavEntry("form", _l("New application")),
            web.NavEntry("admin", _l("Administration"), roles=("admin",)),
        ],
        data_dir=data_dir,
        may_log_in=lambda staff: staff.acts_for("T0001"),
        public_base_url="https://bianmin.rugao.example",
    )

    @app.get("/")
    @web.login_required
    def home() -> str:
        rows = [{"case": "T0001-20261125-0007", "name": "王小明", "id": "320682199001011234",
                 "fee": 123450, "date": dt.date(2026, 11, 25)}]
        shown = [{**r, "id": app.jinja_env.filters["mask_id"](r["id"]),
                  "fee": app.jinja_env.filters["yuan"](r["fee"]),
                  "date": app.jinja_env.filters["date_cn"](r["date"])} for r in rows]
        return render_template_string(PAGE, title=gettext("Cases"), rows=shown, form=False)

    @app.route("/form", methods=["GET", "POST"])
    @web.login_required
    def form() -> Any:
        errors: dict[str, str] = {}
        if request.method == "POST":
            if not request.form.get("applicant", "").strip():
                errors["applicant"] = gettext("Applicant")
            if len(request.form.get("id_number", "")) != 18:
                errors["id_number"] = gettext("ID number")
            if not errors:
                app.config.setdefault("SAVED", []).append(request.form.to_dict())
                flash(gettext("Saved: %(what)s.", what=request.form["applicant"]), "success")
                return redirect(url_for("form"))
        return render_template_string(PAGE, title=gettext("New application"), form=True,
                                      values=request.form, errors=errors), 400 if errors else 200

    @app.get("/admin")
    @web.roles_required("admin")
    def admin() -> str:
        return render_template_string(PAGE, title=gettext("Administration"), form=False)

    @app.get("/notice")
    @web.login_required
    def notice() -> str:
        return web.render_notice(NOTICE, back_url=url_for("home"))

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    return app


def sign_in(page: Any, base_url: str, username: str, password: str = PASSWORD, path: str = "/") -> None:
    """Fill in and send the sign-in form in Chromium (starting from `path`)."""
    page.goto(base_url + path)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
