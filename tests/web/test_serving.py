"""The servers both apps run keep answering when the process holds many files open.

Central holds a connection per syncing node plus its sqlite files and blobs; waitress's default
select() loop dies at descriptor 1024 and every request after hangs (CI met it in the test
workers, which run hundreds of servers in one process).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from serving import serve


@pytest.fixture
def many_open_files() -> Iterator[int]:
    """Hold open enough descriptors that the next socket is numbered above 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1400:
        pytest.skip(f"this machine allows only {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1400), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        yield max(held)
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_server_answers_with_descriptors_above_1024_open(many_open_files: int) -> None:
    assert many_open_files > 1024
    app = Flask("many-files")
    app.add_url_rule("/", "home", lambda: "好")
    with serve(app) as url:
        for _ in range(3):   # each request is a fresh connection, numbered above 1024
            with requests.Session() as session:
                assert session.get(url + "/", timeout=5).text == "好"
