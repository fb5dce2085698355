"""`bianmin catalogue ...`: check the catalogue data and show items' six public things."""

from __future__ import annotations

import click


@click.group()
def catalogue() -> None:
    """Service catalogue: check and show items."""
