"""The docs page in a real browser: Debian's chromium, driven by selenium, against the example app served
on a loopback port. It lists every operation, and "Try it out" on a validated POST shows the app's answer.
A screenshot goes to tmp/artifacts/ (ignored by git)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from necktie_testing import LiveServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "openapi_app.py"
ARTIFACTS = ROOT / "tmp" / "artifacts"
WAIT = 60  # seconds: generous, the machine may be busy; each wait ends as soon as the page is there


def load_app():
    spec = importlib.util.spec_from_file_location("openapi_app_browsed", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_docs_page_lists_every_operation_and_tries_one_out(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    app = load_app()
    operations = {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}
    with LiveServer(app) as server:
        browser.get(f"{server.url}/docs")
        wait = WebDriverWait(browser, WAIT)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= len(operations))
        shown = {
            (block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.upper(),
             block.find_element(By.CSS_SELECTOR, ".opblock-summary [data-path]").get_attribute("data-path"))
            for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
        }
        assert shown == operations

        post = browser.find_element(By.ID, "operations-default-create_item")
        post.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        op = "#operations-default-create_item"
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"{op} .try-out__btn")))
        post.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
        body = wait.until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, f"{op} textarea.body-param__text")))
        body.clear()
        body.send_keys(json.dumps({"name": "silk tie", "price": 39.5, "tags": ["silk"]}))
        post.find_element(By.CSS_SELECTOR, ".execute").click()
        status = wait.until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, f"{op} .live-responses-table tbody .response-col_status")))
        assert status.text.strip() == "201"
        answer = browser.find_element(
            By.CSS_SELECTOR, f"{op} .live-responses-table tbody .response-col_description pre")
        assert json.loads(answer.text) == {"name": "silk tie", "price": 39.5, "tags": ["silk"], "id": 1}

        # Everything the page loaded came from the app itself.
        loaded = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(server.url + "/") for url in loaded), loaded

        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.execute_script("arguments[0].scrollIntoView()", post)
        assert browser.save_screenshot(str(ARTIFACTS / "openapi-docs.png"))
