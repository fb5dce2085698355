"""The city server's Flask app: `create_app({"DATA_DIR": ...})`.

It holds one `Central` (central.runtime) for the data folder, mounts the sync API for the nodes
(sync.server, routed by central.routing), registers web/'s shared pieces (sign-in, layout,
notices, the public service guide) and central's own areas, each a blueprint:
window workstation, service card, settlement centre, supervision, administration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

import web
from central import sms, sms_replies
from central.case_source import case_source
from central.datadir import DataDir
from central.pages import acting_place, china_time, place_label
from central.routing import Router
from central.runtime import Central
from store.accounts import StaffAccount
from store.db import open_db
from sync.blobs import BlobStore
from sync.server import create_sync_blueprint
from web.access_log import init_access_log
from web.auth import current_staff, login_required
from web.casepage import CaseRoles, case_blueprint
from web.guide import guide_blueprint
from web.public import init_public_site

SYNC_MAX_BODY = 512 * 1024 * 1024
"""Above every limit sync.server enforces itself (a bundle is at most 256 MiB), so only those speak."""
CENTRAL_ROLES = ("window_clerk", "card_clerk", "cashier", "supervisor", "inspector", "admin")
_CLERKS = ("window_clerk", "card_clerk")
# The shared case page at central, by docs/permissions.md: the same people as the window workstation's
# case page. An administrator manages accounts and reads no case; a supervisor acts as the centre
# (notes, settling conflicts, a paper rating); only a clerk's screen is the applicant's rating screen.
CASE_ROLES = CaseRoles(
    read=(*_CLERKS, "cashier", "supervisor", "inspector"),
    act=(*_CLERKS, "supervisor"),
    notice=(*_CLERKS, "cashier", "supervisor"),
    scan=(*_CLERKS, "supervisor", "inspector"),
    evaluate=_CLERKS,
    # a number in full, with a reason, to the clerks whose window has the case and to supervisors; never
    # to a cashier (the fee needs no ID), an inspector (who checks conduct on the scans) or an admin
    unmask=(*_CLERKS, "supervisor"),
    unmask_any=("supervisor",),
)

NAV = [
    web.NavEntry("window.queue", _l("Window"), roles=("window_clerk", "card_clerk"),
                 active_prefixes=("window.", "case.")),
    web.NavEntry("card.index", _l("Service card"), roles=("card_clerk",), active_prefixes=("card.",)),
    web.NavEntry("settlement.index", _l("Settlement centre"), roles=("cashier",), active_prefixes=("settlement.",)),
    web.NavEntry("supervision.board", _l("Supervision"), roles=("supervisor", "inspector", "admin"),
                 active_prefixes=("supervision.",)),
    web.NavEntry("reports.monthly", _l("Monthly report"), roles=("supervisor", "admin"), active_prefixes=("reports.",)),
    web.NavEntry("reviews.index", _l("Reviews"), roles=("supervisor", "inspector", "window_clerk", "card_clerk"),
                 active_prefixes=("reviews.",)),
    web.NavEntry("assessment.index", _l("Assessment"), roles=("supervisor", "inspector", "admin"),
                 active_prefixes=("assessment.", "awards.", "scorecards.", "corrections.")),
    web.NavEntry("admin.index", _l("Administration"), roles=("admin",), active_prefixes=("admin.", "bundles.")),
    web.NavEntry("guide.index", _l("Service guide"), active_prefixes=("guide.",)),
]

# what a signed-out visitor sees between the public pages (web/public.py): guide, forms, status, kiosk
PUBLIC_LINKS = [
    web.NavEntry("guide.index", _l("Service guide"), active_prefixes=("guide.item", "guide.checklist")),
    web.NavEntry("guide.forms", _l("Application forms"), active_prefixes=("guide.form",)),
    web.NavEntry("public.status", _l("Case status")),
    web.NavEntry("kiosk.home", _l("Touch-screen enquiry")),
    web.NavEntry("bulletin.index", _l("Assessment bulletins"), active_prefixes=("bulletin.",)),
]


def central_of() -> Central:
    """The Central of the app handling this request."""
    return current_app.extensions["central"]


def _may_log_in(staff: StaffAccount) -> bool:
    return staff.has_role(*CENTRAL_ROLES)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build central's app. Config: DATA_DIR (required), SMS_SENDER (default True: run the outbox
    thread), CENTRAL_CLOCK (a function returning an aware datetime: tests move the day),
    RETENTION_JOB (default False; `central run` sets it: archive ended cases' scans and apply the
    retention policy every hour, central.retention_job)."""
    config = dict(config or {})
    data = DataDir(Path(config["DATA_DIR"]))
    if not data.exists():
        raise RuntimeError(f"{data.root} holds no central; run `bianmin central init --data {data.root}` first")
    app = Flask(__name__)
    app.config.update(config)
    # A whole form with its uploads (evidence photos, scans at a window): a request over this is
    # refused with 413 before it is read. The sync API checks its own, larger limits (bundles on a
    # USB stick) on every read, so its requests get the sync limits instead (below).
    # (Flask's own default is None, already a key: setdefault would never apply)
    app.config["MAX_CONTENT_LENGTH"] = config.get("MAX_CONTENT_LENGTH") or 48 * 1024 * 1024
    clock = config.get("CENTRAL_CLOCK")
    central = Central(data, clock=clock) if clock else Central(data)
    app.extensions["central"] = central
    settings = central.config
    from central import scorecard_records  # a central made before scorecards were records: version 1 now

    scorecard_records.seed(central)

    store_db = web.per_request_db(app, data.db)
    web.init_app(app, store_db_getter=store_db, place_name=settings.place_name, nav=NAV, data_dir=data.root,
                 may_log_in=_may_log_in, public_base_url=settings.public_base_url)

    app.jinja_env.filters["china_time"] = china_time
    app.jinja_env.globals["place_label"] = place_label
    router = Router(lambda: central.log.db)
    blobs = BlobStore(data.blobs)
    from central import sealing_key  # the scans in USB bundles are sealed to it (made if missing)

    sealing = sealing_key.ensure(central)
    app.extensions["central_sealing"] = sealing
    sync_bp = create_sync_blueprint(central.log, route=router.nodes_for, group=router.group_of, blobs=blobs,
                                    sealing=sealing, plain_bundles_until=sealing_key.plain_until(settings))
    web.csrf.exempt(sync_bp)  # nodes sign every request with their key; there is no browser session
    app.register_blueprint(sync_bp)

    @app.before_request
    def _sync_body_limits() -> None:
        if request.blueprint == sync_bp.name:
            request.max_content_length = SYNC_MAX_BODY
    app.extensions["central_blobs"] = blobs

    from central import views_admin, views_card, views_settlement, views_supervision, views_window

    for module in (views_window, views_card, views_settlement, views_supervision, views_admin):
        app.register_blueprint(module.bp)
    from central import views_public  # the public status query: no sign-in (issue 7)

    app.register_blueprint(views_public.bp)
    from central import views_reports  # the monthly case report for supervisors (issue 7)

    app.register_blueprint(views_reports.bp)
    from central import views_reviews, views_sms  # ratings, bad reviews, satisfaction; SMS replies (issue 7)

    app.register_blueprint(views_reviews.bp)
    web.csrf.exempt(views_sms.bp)  # the SMS gateway signs each reply (HMAC of the body); no browser session
    app.register_blueprint(views_sms.bp)
    from central import (  # sub-centre assessment, awards (issue 7)
        views_assessment,
        views_awards,
        views_bulletin,
    )

    for module in (views_assessment, views_awards, views_bulletin):
        app.register_blueprint(module.bp)
    from central import (  # scorecard versions; corrections after publishing
        views_corrections,
        views_scorecards,
    )

    app.register_blueprint(views_scorecards.bp)
    app.register_blueprint(views_corrections.bp)
    from central import views_kiosk  # the touch screen in the hall: public, no sign-in (issue 7)

    app.register_blueprint(views_kiosk.bp)
    init_public_site(app, links=PUBLIC_LINKS, centre=lambda: central.catalogue().centre)
    # every unmask, print, scan view and export is a record central signs (web.access_log); the
    # supervisors' review of them, and the retention of personal data (issue 8)
    init_access_log(app, sign=central.sign, place=acting_place)
    from central import retention_job, views_access, views_retention

    app.register_blueprint(views_access.bp)
    app.register_blueprint(views_retention.bp)
    from central import views_bundles  # USB bundles brought to the city, and their replies

    app.register_blueprint(views_bundles.bp)
    if config.get("RETENTION_JOB", False):
        retention_job.start(app, central)
    app.register_blueprint(case_blueprint(case_source(), roles=CASE_ROLES))  # the page both apps show
    app.register_blueprint(guide_blueprint(catalogue_getter=central.catalogue, tier_getter=lambda: "city",
                                           public=True, intake_endpoint="window.intake"))

    @app.get("/")
    @login_required
    def home() -> Response:
        staff = current_staff()
        for entry in NAV:
            if entry.visible_to(staff):
                return redirect(entry.url())
        return redirect(url_for("guide.index"))

    if config.get("SMS_SENDER", True):
        sender = sms.Sender(lambda: open_db(data.db) if data.db.exists() else _gone(data.db),
                            settings.sms_gateway_url, settings.sms_interval_seconds,
                            today=central.today, chores=(lambda: sms_replies.flush_waiting(central),))
        sender.start()
        central.on_close(sender.stop)
        app.extensions["central_sms"] = sender
    return app


def _gone(path: Path) -> Any:
    raise FileNotFoundError(f"{path} is gone")
