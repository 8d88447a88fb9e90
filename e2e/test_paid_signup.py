"""Paid sign-up in a real browser (Debian's chromium, headless, through chromium-driver) against
the prod compose stack with subscriptions enabled and the local Stripe stand-in
(compose/docker-compose.stripe-stand-in.yml): from the marketing page to an active
subscription, and a user whose trial has ended who sees the paywall and can still read.

Each step leaves a screenshot in e2e/screenshots/<test>/; they are deleted when the test passes
and kept when it fails (the directory is git-ignored)."""

import os
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import BACKEND, ROOT, STRIPE_PUBLIC, sql

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
# The browser opens the sites by the names the stack's defaults use: the app is
# http://localhost:3000 (APP_URL, where Stripe sends the browser back), the marketing site's
# links point there, and the backend allows that origin.
# E2E_APP_URL / E2E_SITE_URL / E2E_BACKEND_URL / E2E_STRIPE_URL point the suite at a stack
# started some other way (see E2E_EXTERNAL_STACK in conftest.py).
APP = os.environ.get("E2E_APP_URL", "http://localhost:3000")
SITE = os.environ.get("E2E_SITE_URL", "http://localhost:3002")
BACKEND = os.environ.get("E2E_BACKEND_URL", BACKEND)
STRIPE_PUBLIC = os.environ.get("E2E_STRIPE_URL", STRIPE_PUBLIC)
SHOTS = ROOT / "e2e" / "screenshots"
PASSWORD = "correct horse battery"


class Browser:
    """The driver plus numbered screenshots of each step."""

    def __init__(self, driver, shots: Path):
        self.driver = driver
        self.shots = shots
        self.step = 0

    def shot(self, name):
        self.step += 1
        self.driver.save_screenshot(str(self.shots / f"{self.step:02d}-{name}.png"))

    def wait(self, condition, what, timeout=20):
        try:
            # The SPA re-renders lists as data arrives: an element found a moment ago may be gone.
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                                 ignored_exceptions=[StaleElementReferenceException]).until(lambda d: condition(d))
        except TimeoutException:
            self.shot(f"timeout-{re.sub(r'[^a-z0-9]+', '-', what.lower())}")
            raise AssertionError(f"timed out waiting for {what} (at {self.driver.current_url})") from None

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def visible(self, css):
        return self.wait(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), None), css)

    def text_of(self, css):
        return self.visible(css).text

    def path(self):
        return self.driver.execute_script("return location.pathname")

    def fill(self, css, value):
        field = self.visible(css)
        field.clear()
        field.send_keys(value)

    def nav(self, label):
        self.visible(f'#app-nav a[href="/{label.lower()}"]').click()
        self.wait(lambda d: self.path() == f"/{label.lower()}", f"the {label} page")

    def cells(self):
        """The table cells' text, read in one go (the table may be re-rendered meanwhile)."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll('tbody td')].map((td) => td.textContent)")


@pytest.fixture
def browser(request, stack):
    shots = SHOTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    b = Browser(driver, shots)
    try:
        yield b
    finally:
        failed = getattr(request.node, "report_call", None) is None or request.node.report_call.failed
        if failed:
            try:
                b.shot("at-failure")
            except Exception:  # the browser may be what failed
                pass
        driver.quit()
        if not failed:
            shutil.rmtree(shots, ignore_errors=True)


def sign_up(b, email):
    b.fill("input[name=email]", email)
    b.fill("input[name=password]", PASSWORD)
    b.find("form button[type=submit]").click()
    b.wait(lambda d: b.path() == "/accounts", "the accounts page after sign-up")


def log_in(b, email):
    b.driver.get(f"{APP}/login")
    b.fill("input[name=email]", email)
    b.fill("input[name=password]", PASSWORD)
    b.find("form button[type=submit]").click()
    b.wait(lambda d: b.path() == "/accounts", "the accounts page after log-in")


def log_out(b):
    b.visible(".who button").click()
    b.wait(lambda d: b.path() == "/login", "the login page")
    assert b.driver.execute_script("return sessionStorage.getItem('ledgerly.token')") is None


def add_account(b, name, kind):
    b.wait(lambda d: not b.find("form.inline-form button[type=submit]").get_attribute("disabled"), "the add-account form")
    b.fill("input[name=name]", name)
    Select(b.find("select[name=type]")).select_by_value(kind)
    b.find("form.inline-form button[type=submit]").click()
    b.wait(lambda d: name in b.cells(), f"account {name} listed")


def billing_status(b):
    b.nav("Billing")
    return b.text_of("#billing-status")


def test_paid_sign_up_from_the_marketing_page_to_an_active_subscription(browser):
    b = browser
    email = f"e2e-paid-{uuid.uuid4().hex[:10]}@example.com"

    b.driver.get(f"{SITE}/")
    b.visible("header a[data-app-path='/signup']")
    b.shot("marketing")
    start = next(a for a in b.driver.find_elements(By.CSS_SELECTOR, "header a[data-app-path='/signup']") if a.text == "Start free")
    start.click()
    b.wait(lambda d: d.current_url.startswith(f"{APP}/signup"), "the sign-up page")
    b.shot("sign-up")
    sign_up(b, email)

    add_account(b, "Bank", "asset")
    add_account(b, "Groceries", "expense")
    b.shot("accounts")

    b.nav("Transactions")
    b.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "select[name=debit_account_id] option")) == 3, "account options")
    b.fill("input[name=amount]", "12.34")
    b.fill("input[name=description]", "Weekly shop")
    Select(b.find("select[name=debit_account_id]")).select_by_visible_text("Groceries (expense)")
    Select(b.find("select[name=credit_account_id]")).select_by_visible_text("Bank (asset)")
    b.find("form.tx-form button[type=submit]").click()
    b.wait(lambda d: "Weekly shop" in b.cells() and "12.34" in b.cells(), "the transaction listed")
    b.shot("transaction")

    b.nav("Accounts")
    b.wait(lambda d: "-12.34" in b.cells() and "12.34" in b.cells(), "the balances")
    bar = b.visible('#balance-chart g[data-account="Groceries"]')
    assert bar.get_attribute("data-cents") == "1234"
    assert b.find('#balance-chart g[data-account="Bank"]').get_attribute("data-cents") == "-1234"
    b.shot("balances-and-chart")

    assert billing_status(b) == "none"
    assert "trial ends on" in b.text_of("#billing-summary")
    b.shot("billing-trial")
    b.visible("#subscribe").click()
    b.wait(lambda d: d.current_url.startswith(f"{STRIPE_PUBLIC}/c/pay/"), "the stand-in's hosted checkout")
    assert email in b.text_of("#email")
    b.shot("stripe-checkout")
    b.visible("#pay").click()
    b.wait(lambda d: d.current_url.startswith(f"{APP}/billing/success?session_id=cs_"), "the return to the app")
    b.wait(lambda d: b.find("#checkout-state").get_attribute("data-state") == "active", "the webhook to land", timeout=40)
    b.shot("checkout-success")

    assert billing_status(b) == "active"
    b.visible("#manage-billing")
    assert not b.driver.find_elements(By.CSS_SELECTOR, "#subscribe")
    b.shot("billing-active")

    log_out(b)
    log_in(b, email)
    b.wait(lambda d: "-12.34" in b.cells(), "the balances after logging in again")
    assert billing_status(b) == "active"
    b.shot("logged-in-again")


def test_a_user_whose_trial_has_ended_sees_the_paywall_and_can_still_read(browser):
    b = browser
    email = f"e2e-trial-over-{uuid.uuid4().hex[:10]}@example.com"
    b.driver.get(f"{APP}/signup")
    sign_up(b, email)
    add_account(b, "Savings", "asset")
    # The trial ended long ago (TRIAL_DAYS is at most 3650).
    assert sql(f"UPDATE users SET created_at = now() - interval '3651 days' "
               f"WHERE email = '{email}' RETURNING 1") == "1"

    b.driver.refresh()
    b.visible("#paywall")
    assert "Savings" in b.cells(), "reads still work"
    assert b.find("input[name=name]").get_attribute("disabled") is not None
    b.shot("paywall-accounts")
    b.nav("Transactions")
    b.visible("#paywall")
    assert b.find("form.tx-form button[type=submit]").get_attribute("disabled") is not None
    status = billing_status(b)
    assert status == "none"
    assert "trial has ended" in b.text_of("#billing-summary")
    b.visible("#subscribe")
    b.shot("paywall-billing")

    # The server is what refuses, not just the page.
    token = b.driver.execute_script("return sessionStorage.getItem('ledgerly.token')")
    r = requests.post(f"{BACKEND}/accounts", json={"name": "Sneaky", "type": "asset"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 402 and r.json()["error"]["code"] == "subscription_required", r.text
    r = requests.get(f"{BACKEND}/accounts", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200 and "Savings" in r.text
