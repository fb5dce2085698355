"""What a person is told about a USB bundle, in their language: written once for both apps.

sync/bundle.py refuses a bad bundle with a stable code (sync/PROTOCOL.md section 16) and an
English detail for administrators. Central's bundle page (a bundle brought to the city), a town's
relay of a village's bundle, and a node's import of the city's reply each show the code's message
here, saying what happened, that nothing was stored, and what to do next; the code itself is shown
small beside it for the administrator on the phone.
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

_NOTHING = _l("Nothing from it was stored.")

# a service point's bundle, refused where it is imported (central's page, or a town relaying it)
BUNDLE_PROBLEMS = {
    "bundle_corrupt": _l("The file cannot be read as a bundle: it is damaged, or it was cut short when the USB "
                         "stick was pulled out. Save the bundle again at the service point."),
    "bundle_format": _l("This file is not a service point's bundle for the city (perhaps the city's reply, or "
                        "another kind of file)."),
    "bundle_tampered": _l("The bundle was changed after it was saved: a file in it does not match its signed list, "
                          "or a sealed scan does not open. Save the bundle again at the service point."),
    "bundle_too_large": _l("The bundle is larger than the city accepts in one file. Save the records more often, "
                           "in smaller bundles."),
    "bundle_sealed_elsewhere": _l("The scans in this bundle are sealed for another city server, or for a key this "
                                  "server no longer holds. At the service point, import the city's latest reply "
                                  "(it carries the current key), then save the bundle again: its scans are still "
                                  "there."),
    "bundle_plain": _l("This bundle was made by an older version of the software, which did not seal the scans, "
                       "and the city no longer accepts such bundles. Upgrade the service point's software and save "
                       "the bundle again (its records and scans are still there). Delete this file from the USB "
                       "stick now: it shows the scans to anyone who finds it."),
    "wrong_network": _l("This bundle belongs to another network (a test system?)."),
    "unknown_key": _l("The bundle is not signed by an enrolled service point."),
    "wrong_key": _l("The bundle is signed with a key that has since been replaced. Save the bundle again at the "
                    "service point."),
    "revoked_key": _l("The bundle is signed with a revoked key. Ask the city administrator."),
    "bad_signature": _l("The bundle's signature does not match its content: it was changed after it was saved."),
    "wrong_origin": _l("The bundle holds records of another service point than the one that signed it."),
    "batch_too_large": _l("The bundle is larger than the city accepts in one file. Save the records more often, "
                          "in smaller bundles."),
}

# the city's reply, refused at the service point it was brought back to
REPLY_PROBLEMS = {
    "bundle_corrupt": _l("The reply file cannot be read: it is damaged, or it was cut short when the USB stick was "
                         "pulled out. Ask for the reply again."),
    "bundle_format": _l("This file is not the city's reply for this service point (perhaps the bundle saved here, "
                        "or another service point's reply)."),
    "bundle_tampered": _l("The reply was changed after the city signed it. Ask for the reply again."),
    "wrong_network": _l("This reply belongs to another network (a test system?)."),
    "unknown_key": _l("This reply is not signed by this service point's city server."),
    "bad_signature": _l("The reply's signature does not match its content: it was changed after the city signed "
                        "it."),
    "bundle_too_large": _l("The reply file is too large to be a reply."),
}


def bundle_problem(code: str, *, reply: bool = False) -> str:
    """The message for a refused bundle (or, `reply`, a refused reply), with 'nothing was stored'."""
    texts = REPLY_PROBLEMS if reply else BUNDLE_PROBLEMS
    found = texts.get(code)
    if found is None:
        found = _l("The reply file was refused.") if reply else _l("The bundle was refused.")
    return f"{found} {_NOTHING}"


def plain_warning(scans: int, until: str) -> str:
    """An old plain bundle accepted while the city allows it: the stick showed its scans to anyone."""
    return gettext("This bundle was made by an older version of the software: its %(n)s scans travelled "
                   "unsealed. Delete the bundle file from the USB stick now, and upgrade the service point's "
                   "software before %(until)s, after which such bundles are refused.", n=scans, until=until)


def held_back_note(scans: int) -> str:
    """Scans a node kept because it had not received the city's sealing key yet."""
    return gettext("%(n)s scans stayed at the service point: it had not received the city's key for sealing them "
                   "yet. The reply carries the key; the scans go with the next bundle.", n=scans)


def refused_with_reply(*, carrier: bool = False) -> str:
    """A bundle refused because its scans were sealed to a key the city no longer holds, answered
    with a reply all the same: it brings the city's current key (sync.bundle.SealedElsewhereError)."""
    if carrier:
        return gettext("The city refused this bundle (its scans are sealed with a key it no longer holds) but "
                       "answered with a reply that brings its current key. Give the reply back to the village "
                       "room: there, import it and save the bundle again.")
    return gettext("The city could not open the scans of the last bundle: they were sealed with a key it no longer "
                   "holds, so nothing from that bundle was stored. This reply brings the city's current key: save "
                   "the bundle again now and take it to the city.")
