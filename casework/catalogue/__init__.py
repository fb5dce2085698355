"""The service catalogue (事项目录): departments, windows, items, fee standards, project types.

    from casework.catalogue import load
    catalogue = load()                      # the packaged data of Rugao, checked
    item = catalogue.item("SCJG001")
    catalogue.search("qysldj")              # pinyin initials, names, codes, keywords

Data lives in casework/data/catalogue/ as hand-edited TOML (see loader.py for the layout);
`load()` reports every problem at once (CatalogueError.problems), and `Catalogue.to_data()` /
`Catalogue.from_data()` give the dict central signs and nodes load.
"""

from casework.catalogue.build import CatalogueError
from casework.catalogue.loader import DATA, load, packaged
from casework.catalogue.model import (
    FORM_LABELS,
    KIND_LABELS,
    TIER_LABELS,
    Catalogue,
    Centre,
    Department,
    Material,
    ProjectStep,
    ProjectType,
    ServiceItem,
    UnknownCodeError,
    Window,
    describe_fee,
)
from casework.fees import FeeStandard

__all__ = [
    "DATA",
    "FORM_LABELS",
    "KIND_LABELS",
    "TIER_LABELS",
    "Catalogue",
    "CatalogueError",
    "Centre",
    "Department",
    "FeeStandard",
    "Material",
    "ProjectStep",
    "ProjectType",
    "ServiceItem",
    "UnknownCodeError",
    "Window",
    "describe_fee",
    "load",
    "packaged",
]
