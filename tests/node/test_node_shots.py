import pytest
from nodekit import sign_in

pytestmark = pytest.mark.browser


def test_shots(village, page, artifacts):
    base, _app = village
    sign_in(page, base)
    for name, path in [("home", "/"), ("guide", "/guide/?q=dbsq"), ("item", "/guide/item/MZJ001"),
                       ("intake_start", "/intake/"), ("intake_form", "/intake/new?item=MZJ001"),
                       ("cases", "/cases/"), ("sync", "/sync/")]:
        page.goto(base + path)
        page.screenshot(path=str(artifacts / f"draft_{name}.png"), full_page=True)
