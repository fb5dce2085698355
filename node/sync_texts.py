"""sync's status messages, marked here so that babel extracts them into the Chinese catalogue.

sync never imports the translation layer (import-linter forbids it); it gives a reason code and
an English msgid (sync.status.MESSAGES). The node shows them, so the node marks them: the same
English text, literally, for the extractor. tests/node/test_node_sync_texts.py fails if sync
changes a message without this list following.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SYNC_TEXTS = {
    "ok": _l("Synced."),
    "net.unreachable": _l("Cannot reach the city server. Check the network cable or mobile link; work goes on "
                          "offline and will be sent later."),
    "net.timeout": _l("The city server did not answer in time. Sync will try again."),
    "net.cut": _l("The link was cut in the middle of a transfer. Sync will resume where it stopped."),
    "server.error": _l("The city server had a problem (HTTP %(status)s). Sync will try again."),
    "server.bad_answer": _l("The city server's answer could not be understood."),
    "auth.clock_skew": _l("This computer's clock is off by %(minutes)s minutes. Set the date and time, then sync "
                          "again."),
    "auth.unknown_key": _l("This service point's key is not enrolled at the city server. Ask the city "
                           "administrator to enrol it again."),
    "auth.revoked": _l("This service point's key has been revoked. Ask the city administrator."),
    "auth.bad_signature": _l("The city server refused this service point's signature."),
    "auth.replay": _l("A request was refused as a repeat; sync will try again."),
    "receipt.invalid": _l("The city server's receipt did not verify. Nothing was marked as sent; tell the city "
                          "administrator."),
    "sync.fork": _l("The city holds different records under the same numbers as this service point (restored "
                    "from an old backup?). Sync has stopped; ask the city administrator."),
    "sync.restored": _l("The city held newer records of this service point; they were brought back."),
    "sync.rebased": _l("This service point's records differed from the city's under the same numbers; the city's "
                       "were taken, ours were added again after them (the originals are kept)."),
    "sync.refused": _l("The city server refused a record (%(reason)s). Sync has stopped; ask the city "
                       "administrator."),
    "sync.clock_flagged": _l("Records made here carry a date more than a day away from the city server's clock. "
                             "They were accepted (the city's receipt time counts), but please set this "
                             "computer's date and time."),
    "sync.needs_attention": _l("Sync has failed %(failures)s times in a row. Last problem: %(last)s"),
}
