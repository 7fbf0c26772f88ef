#!/usr/bin/env python3
"""Drives the pages `ncf sweep serve` serves, in headless Chromium, while an agent runs the sweep.

Usage: served_page.py BASE_URL SWEEP_ID RUNS [--ready FILE] [--shots DIR]

BASE_URL is the dashboard (`http://127.0.0.1:PORT`), SWEEP_ID a sweep an agent runs and RUNS how
many runs it finishes in all. With --ready, FILE is created once the sweep's page is open (the
test starts the agent then). Checks:
  - the list of sweeps shows the sweep and links to its page;
  - the sweep's page, served by the dashboard, renders with its script and no console message;
  - while the agent works, the page follows the store in place (no reload): its table reaches
    RUNS finished runs, the count only grows, and the header then says the sweep is finished;
  - nothing the page asked for was refused (its Content-Security-Policy allows only this server).
Exits 0 when every check passed, 1 when one failed, 2 when the browser cannot start.
"""

import argparse
import os
import sys
import time

from selenium.webdriver.common.by import By

import sweep_page as page


def finished_in_table(driver):
    return sum(1 for cell in driver.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr .st") if cell.text == "finished")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base")
    parser.add_argument("sweep")
    parser.add_argument("runs", type=int)
    parser.add_argument("--ready")
    parser.add_argument("--shots", default="/tmp/ncf-page-shots")
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    try:
        driver = page.browser()
    except Exception as e:  # no browser or driver: the Swift test decides whether that fails
        print(f"cannot start Chromium through chromedriver: {e}")
        return 2
    check = page.check
    try:
        driver.get(args.base + "/")
        links = driver.find_elements(By.CSS_SELECTOR, f'#sweeps a[href="/sweeps/{args.sweep}"]')
        check(len(links) == 1, f"the list of sweeps links to sweep {args.sweep}", driver.page_source[:1500])
        if links:
            links[0].click()
        else:
            driver.get(f"{args.base}/sweeps/{args.sweep}")
        check(page.wait_for(lambda: driver.execute_script("return !!window.ncfPage"), seconds=20),
              "the served sweep page: the script ran")
        driver.execute_script("window.__sameDocument = true")
        first = finished_in_table(driver)
        print(f"     {first} of {args.runs} runs finished when the page opened")
        page.full_shot(driver, os.path.join(args.shots, "served-first.png"))
        seen = [first]
        if args.ready:
            open(args.ready, "w").close()

        def all_finished():
            seen.append(finished_in_table(driver))
            return seen[-1] == args.runs
        done = page.wait_for(all_finished, seconds=120, step=0.5)
        check(bool(done), f"the served page reaches {args.runs} finished runs while the agent works", f"seen {seen[-10:]}")
        check(first < args.runs, "the page opened before the sweep ended (so the update is what was seen)",
              f"{first} finished at first")
        counts = [n for n in seen if n >= 0]
        check(counts == sorted(counts), "finished runs in the table never go back", str(counts))
        check(driver.execute_script("return window.__sameDocument === true"), "the served page updated in place, not reloaded")
        header = lambda: driver.find_element(By.ID, "sweep-state").text
        check(page.wait_for(lambda: "finished" in header(), seconds=15), "the header says the sweep finished", header())
        page.full_shot(driver, os.path.join(args.shots, "served-finished.png"))
        errors = page.console_errors(driver)
        check(errors == [], "the served pages: no console messages, script errors or refused requests", str(errors)[:2000])
    finally:
        driver.get("about:blank")
        driver.quit()
    print(f"{len(page.failures)} failed" if page.failures else "every check passed")
    return 1 if page.failures else 0


if __name__ == "__main__":
    sys.exit(main())
