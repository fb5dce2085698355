"""The service-point web app: `create_app({"DATA_DIR": ...})`, served by waitress.

Pages (blueprints): home (today's work and sync), the service guide (web.guide), intake (taking in
an application), cases (list and search), the case page with its actions and notices
(web.casepage, shared with central), sync (status and "sync now"), the monthly case report
(signed and sent to the centre). Every page needs a signed-in
member of staff who acts for this node; staff accounts come from central's signed records, so
the login works with the network unplugged.

Config keys: DATA_DIR (required), SYNC_LOOP (start the background sync thread; default False:
tests and `bianmin node sync` drive sync themselves), SYNC_INTERVAL (seconds, default 60),
plus web's WEB_* keys and any Flask key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

import web
from node.cases_source import node_case_source
from node.context import Node
from node.syncing import NodeSync
from node.views.common import CLERK_ROLES, NODE_ROLES
from web.access_log import init_access_log
from web.casepage import CaseRoles, case_blueprint
from web.guide import guide_blueprint

KEY = "bianmin_node"


def node() -> Node:
    """The node of the app handling this request."""
    return current_app.extensions[KEY]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    cfg = dict(config or {})
    if "DATA_DIR" not in cfg:
        raise ValueError("create_app needs DATA_DIR (the node's data folder)")
    data_dir = Path(cfg["DATA_DIR"])
    the_node = Node.open(data_dir)
    app = Flask("node", template_folder=str(Path(__file__).resolve().parent / "templates"))
    app.config.update(cfg)
    # a whole intake form with its scans; Flask's default is None, already a key, so not setdefault
    app.config["MAX_CONTENT_LENGTH"] = cfg.get("MAX_CONTENT_LENGTH") or 48 * 1024 * 1024
    app.extensions[KEY] = the_node
    db_getter = web.per_request_db(app, the_node.db_path)
    app.extensions["bianmin_node_db"] = db_getter
    settings = the_node.config

    web.init_app(
        app,
        store_db_getter=db_getter,
        place_name=settings.name,
        nav=[
            web.NavEntry("home.index", _l("Home"), roles=NODE_ROLES),
            web.NavEntry("intake.start", _l("New application"), roles=CLERK_ROLES, active_prefixes=("intake.",)),
            web.NavEntry("cases.index", _l("Cases"), roles=CLERK_ROLES, active_prefixes=("cases.", "case.")),
            web.NavEntry("guide.index", _l("Service guide"), roles=NODE_ROLES, active_prefixes=("guide.",)),
            web.NavEntry("reports.index", _l("Monthly report"), roles=NODE_ROLES, active_prefixes=("reports.",)),
            web.NavEntry("syncpage.index", _l("Sync"), roles=NODE_ROLES, active_prefixes=("syncpage.",)),
        ],
        data_dir=data_dir,
        may_log_in=lambda staff: staff.acts_for(settings.node_id) and staff.has_role(*NODE_ROLES),
        home_endpoint="home.index",
        public_base_url=settings.public_url or settings.central_url,
    )

    from node.views import cases, common, home, intake, reports, syncpage

    app.jinja_env.filters.update(epoch_cn=common.epoch_cn, age_cn=common.age_cn)

    app.register_blueprint(home.bp)
    app.register_blueprint(intake.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(syncpage.bp)
    app.register_blueprint(reports.bp)  # the monthly case report, signed and sent to the centre
    app.register_blueprint(guide_blueprint(
        catalogue_getter=lambda: the_node.catalogue(db_getter()),
        tier_getter=lambda: settings.case_tier,
        public=False,
        intake_endpoint="intake.form",
    ))
    # every unmask, print, scan view and export is a record this node signs (web.access_log)
    init_access_log(app, sign=the_node.append, place=lambda: settings.place)
    app.register_blueprint(case_blueprint(node_case_source(the_node, db_getter), roles=CaseRoles(
        read=CLERK_ROLES, act=CLERK_ROLES, notice=CLERK_ROLES, scan=CLERK_ROLES, evaluate=CLERK_ROLES,
        unmask=CLERK_ROLES)))  # a node's clerks handle the cases routed to it (docs/permissions.md)

    app.extensions["bianmin_node_sync"] = NodeSync(the_node, interval=float(cfg.get("SYNC_INTERVAL", 60)))
    if cfg.get("SYNC_LOOP"):
        app.extensions["bianmin_node_sync"].start()
    return app
