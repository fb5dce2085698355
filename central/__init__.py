"""The city server: sync, windows, service card, settlement, supervision, reports, guide."""
