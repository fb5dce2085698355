"""The names of staff roles on screen (the codes themselves live in store.accounts.ROLES)."""

from __future__ import annotations

from flask_babel import lazy_gettext

ROLE_NAMES = {
    "village_clerk": lazy_gettext("Village clerk"),  # 村代办员
    "town_clerk": lazy_gettext("Town centre clerk"),  # 镇窗口人员
    "node_admin": lazy_gettext("Site administrator"),  # 站点管理员
    "window_clerk": lazy_gettext("Window clerk"),  # 窗口人员
    "card_clerk": lazy_gettext("Service card clerk"),  # 一卡通窗口人员
    "cashier": lazy_gettext("Cashier"),  # 收费员
    "supervisor": lazy_gettext("Supervisor"),  # 监督员
    "inspector": lazy_gettext("Conduct inspector"),  # 行风监督员
    "admin": lazy_gettext("System administrator"),  # 系统管理员
}


def role_name(code: str) -> str:
    """The role's name in the user's language; an unknown code is shown as itself."""
    name = ROLE_NAMES.get(code)
    return str(name) if name is not None else code
