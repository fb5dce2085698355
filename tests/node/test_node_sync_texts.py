"""The node's marked copy of sync's messages says exactly what sync says (else a screen would show
an untranslated or stale text)."""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel

from node.sync_texts import SYNC_TEXTS
from sync.status import MESSAGES


def test_every_sync_message_is_marked_for_translation_word_for_word() -> None:
    app = Flask("t")
    Babel(app)
    with app.app_context():
        assert {code: text._args[0] for code, text in SYNC_TEXTS.items()} == MESSAGES
