"""The SMS gateway's door into central: `POST /sms/inbound`, one applicant's reply per request.

No session and no CSRF token: the gateway is a program. It proves itself with an HMAC-SHA256 of the
body under `sms_inbound_secret` (header `X-Bianmin-Signature: sha256=<hex>`; central.sms_replies says
why and what a reply does). A bad or missing signature gets 403, so a misconfigured gateway shows up
in its own logs; everything signed gets 200, whatever the applicant typed, so the gateway never
retries a reply forever. The answer names only the outcome, never a case or a phone.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from central import sms_replies
from central.pages import central_of

bp = Blueprint("sms", __name__, url_prefix="/sms")
log = logging.getLogger(__name__)


@bp.post("/inbound")
def inbound() -> tuple[Response, int]:
    central = central_of()
    if (request.content_length or 0) > sms_replies.MAX_BODY:
        return jsonify(ok=False, error="too_large"), 413
    body = request.get_data(cache=False)[: sms_replies.MAX_BODY + 1]
    if len(body) > sms_replies.MAX_BODY:
        return jsonify(ok=False, error="too_large"), 413
    if not sms_replies.signature_ok(central.config.sms_inbound_secret, body, request.headers.get(sms_replies.HEADER)):
        log.warning("sms inbound refused: %s", "not configured" if not central.config.sms_inbound_secret
                    else "bad or missing signature")
        return jsonify(ok=False, error="signature"), 403
    try:
        message = json.loads(body)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        log.warning("sms inbound: a signed body that is not a JSON object, ignored")
        return jsonify(ok=True, outcome="malformed"), 200
    outcome = sms_replies.handle(central, message)
    return jsonify(ok=True, outcome=outcome.code), 200
