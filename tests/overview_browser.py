"""Reading the overview page /ui in tests: as HTML (sections and table rows, parsed with the
standard library) and in a browser (Debian's headless Chromium through its chromedriver,
never a downloaded one), and a real `ferry serve` to point the browser at."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from conftest import answering, require_tool
from ferryml.quickstart.server import free_port

CHROMIUM_INSTALL = "apt-get install -y chromium chromium-driver"


@dataclass
class Row:
    """A table row of the page: its class, its data-* attributes, its cells' text."""

    kind: str
    data: dict[str, str]
    cells: list[str] = field(default_factory=list)


class PageParser(HTMLParser):
    """The text of each ``<section id=…>`` and every ``<tr class=…>`` row in it."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, str] = {}
        self.rows: dict[str, list[Row]] = {}
        self.links: list[str] = []
        self._section: str | None = None
        self._row: Row | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "section":
            self._section = attributes.get("id", "")
            self.sections[self._section] = ""
        elif tag == "tr" and self._section and "class" in attributes:
            data = {k[5:]: v for k, v in attributes.items() if k.startswith("data-")}
            self._row = Row(attributes["class"], data)
            self.rows.setdefault(self._section, []).append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        elif tag == "tr":
            self._row = None
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._section is not None:
            self.sections[self._section] += data
        if self._cell is not None:
            self._cell.append(data)


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


@contextmanager
def ferry_serve(config: Path, settings: list[str]) -> Iterator[str]:
    """`ferry serve` (one worker) on a free port until it is ready; its base URL."""
    port = free_port()
    sets = [arg for setting in settings for arg in ("--set", setting)]
    command = [sys.executable, "-m", "ferryml", "serve", "-c", str(config), "--port", str(port),
               "--workers", "1", *sets]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    log = config.parent.parent / f"serve-ui-{port}.log"
    with answering(command, f"{url}/health/ready", log, timeout=120, env=os.environ):
        yield url


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium driven by Selenium, the browser's console log kept."""
    browser = require_tool("chromium", CHROMIUM_INSTALL)
    driver_path = require_tool("chromedriver", CHROMIUM_INSTALL)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(browser)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1600"):  # fmt: skip
        options.add_argument(argument)  # --no-sandbox: CI runs as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # a driver path given: Selenium Manager is not asked for one (nor to download a browser)
    driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
