#!/usr/bin/env python3
"""Drives ncf's sweep page in headless Chromium (Selenium + Debian's chromium-driver).

Usage: sweep_page.py DIR [--shots DIR]

DIR holds what the test wrote (NCFReportTests/BrowserPageTests):
  static.html     the static report (`ncf sweep report`), data embedded
  live.html       the same sweep's page in live mode, polling `data.json` beside it
  data-first.json the live data while one run is still running (served as data.json)
  data-next.json  the live data after that run finished (then served as data.json)
  expect.json     {"running": RUN_ID, "runs": N, "ticked": [A, B], "brush": PARAM_NAME, …}
  extra-*.html    pages at the edges (no run, one run, only failures, no metric, one parameter)

Checks, each printed as `ok …` or `FAIL …`:
  - the static page renders from its embedded data with no console message and no script error;
  - brushing an axis (a real pointer drag) filters the runs table to exactly the runs inside;
  - dragging an axis name moves the axis; the log/linear toggle switches the axis scale;
  - hovering a line shows its run; clicking it ticks it;
  - ticking two runs shows the comparison: differing config rows highlighted, curves overlaid;
  - the CSV export carries every run shown with exact values; grouping draws an EDF per group;
  - the runs table fits a 1400 px window (no horizontal scrolling);
  - the live page, served over HTTP, updates in place (no reload) when the run finishes,
    keeping the ticks;
  - each extra page renders without a console message.
Screenshots go to --shots (default /tmp/ncf-page-shots). Exit status 0 when every check passes,
1 when one fails, 2 when the browser cannot be started.
"""
import argparse
import functools
import http.server
import json
import os
import shutil
import sys
import threading
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

failures = []


def check(condition, what, detail=""):
    if condition:
        print(f"ok   {what}")
    else:
        print(f"FAIL {what}" + (f": {detail}" if detail else ""))
        failures.append(what)
    return condition


def wait_for(predicate, seconds=10.0, step=0.1):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # the page may be mid-redraw
            pass
        time.sleep(step)
    return None


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--hide-scrollbars"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(service=Service(driver_path), options=options)


def console_errors(driver):
    """Every console message (the page logs nothing), minus the favicon the test server lacks."""
    return [e for e in driver.get_log("browser") if "favicon.ico" not in e.get("message", "")]


def full_shot(driver, path):
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    driver.set_window_size(1400, min(max(800, height + 40), 12000))
    time.sleep(0.3)
    driver.save_screenshot(path)
    driver.set_window_size(1400, 1000)
    time.sleep(0.4)
    print(f"     screenshot {path}")


def into_view(driver, element):
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})", element)
    time.sleep(0.1)
    return element


def table_runs(driver):
    return [int(tr.get_attribute("data-run")) for tr in driver.find_elements(By.CSS_SELECTOR, "#runs-table tbody tr")]


def data(driver):
    return driver.execute_script("return window.ncfPage.data()")


def passes_brush(run, data_, key, lo, hi):
    i = int(key[1:])
    v = run["values"][i]
    if v is None:
        return False
    if data_["parameters"][i]["axis"] == "categorical":
        return v + 0.5 > lo and v - 0.5 < hi
    return lo <= v <= hi


def static_checks(driver, url, expect, shots):
    driver.get(url)
    check(wait_for(lambda: driver.execute_script("return !!window.ncfPage")), "static page: the script ran")
    d = data(driver)
    runs = table_runs(driver)
    check(len(runs) == expect["runs"] and len(d["runs"]) == expect["runs"],
          f"static page: the table lists every run ({expect['runs']})", f"table {len(runs)}, data {len(d['runs'])}")
    lines = driver.find_elements(By.CSS_SELECTOR, "#pc svg path.pcl[data-run]")
    with_metric = [r for r in d["runs"] if r["metric"] is not None]
    check(len(lines) == len(with_metric), "parallel coordinates: one line per run with a metric",
          f"{len(lines)} lines, {len(with_metric)} runs")
    axes = [g.get_attribute("data-axis") for g in driver.find_elements(By.CSS_SELECTOR, "#pc g.pc-axis-g")]
    varying = ["p%d" % i for i, p in enumerate(d["parameters"]) if p["varies"]]
    constant = [p["name"] for p in d["parameters"] if not p["varies"]]
    check(axes == varying + ["metric"], "parallel coordinates: an axis per varying parameter, then the metric",
          f"{axes} vs {varying}")
    if constant:
        legend = driver.find_element(By.ID, "pc-legend").text
        check(all(n in legend for n in constant), "a parameter with one value gets no axis, and the legend says so", legend)
    full_shot(driver, os.path.join(shots, "static-initial.png"))

    # Hover a line: the tooltip names its run. Click it: it is ticked.
    target = next(r for r in with_metric if r["id"] != d["best"])
    svg = into_view(driver, driver.find_element(By.CSS_SELECTOR, "#pc svg"))
    point = driver.execute_script("""
        var p = document.querySelector('#pc path.pcl[data-run="' + arguments[0] + '"]');
        var len = p.getTotalLength(), q = p.getPointAtLength(len * 0.37), m = p.getScreenCTM();
        var s = p.ownerSVGElement.createSVGPoint(); s.x = q.x; s.y = q.y; s = s.matrixTransform(m);
        var r = p.ownerSVGElement.getBoundingClientRect();
        return [s.x - r.left - r.width / 2, s.y - r.top - r.height / 2];""", target["id"])
    ActionChains(driver).move_to_element_with_offset(svg, int(point[0]), int(point[1])).perform()
    tip = wait_for(lambda: driver.find_element(By.ID, "tooltip").is_displayed() and driver.find_element(By.ID, "tooltip").text)
    check(bool(tip) and f"run {target['id']}" in tip, "hovering a line shows its run", repr(tip))
    driver.save_screenshot(os.path.join(shots, "static-hover.png"))
    ActionChains(driver).move_to_element_with_offset(svg, int(point[0]), int(point[1])).click().perform()
    ticked = driver.execute_script("return window.ncfPage.state.selected.slice()")
    check(ticked == [target["id"]], "clicking a line ticks its run", f"ticked {ticked}")
    driver.execute_script("window.ncfPage.state.selected = []; window.ncfPage.render()")

    # Brush an axis with a real drag: the table keeps exactly the runs inside.
    key = "p%d" % next(i for i, p in enumerate(d["parameters"]) if p["name"] == expect["brush"])
    hit = into_view(driver, driver.find_element(By.CSS_SELECTOR, f'#pc rect.hit[data-axis="{key}"]'))
    h = hit.size["height"]
    ActionChains(driver).move_to_element_with_offset(hit, 0, int(-h * 0.45)).click_and_hold() \
        .move_by_offset(0, int(h * 0.25)).move_by_offset(0, int(h * 0.2)).release().perform()
    brush = driver.execute_script("return window.ncfPage.state.brush[arguments[0]]", key)
    check(brush is not None, f"dragging along the {expect['brush']} axis sets a brush", str(brush))
    if brush:
        inside = sorted(r["id"] for r in d["runs"] if passes_brush(r, d, key, brush[0], brush[1]))
        shown = sorted(table_runs(driver))
        check(0 < len(shown) < len(d["runs"]) and shown == inside,
              f"brushing filters the table to the runs inside ({len(shown)} of {len(d['runs'])})", f"table {shown}, inside {inside}")
        info = driver.find_element(By.ID, "page-info").text
        check(f"{len(inside)} of {len(d['runs'])}" in info, "the table says how many runs match", info)
        greyed = driver.find_elements(By.CSS_SELECTOR, "#pc path.pcl.out")
        check(len(greyed) == len([r for r in with_metric if r["id"] not in inside]), "lines outside the brush are greyed")
        # The scatters and the server-drawn charts follow right after the table (a moment later).
        grey_points = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#scatters circle.grey"))
        check(bool(grey_points), "the scatters follow the brush")
        outside = {r["id"] for r in with_metric if r["id"] not in inside}
        faded_ids = lambda: {int(e.get_attribute("data-run")) for e in driver.find_elements(By.CSS_SELECTOR, "#progress [data-run].faded")}
        wait_for(lambda: faded_ids() == outside)
        faded = faded_ids()
        check(faded == outside, "the metric-of-every-run chart fades the runs outside the brush", f"faded {sorted(faded)}, outside {sorted(outside)}")
        full_shot(driver, os.path.join(shots, "static-brushed.png"))
        # A click on the axis clears its brush.
        hit = into_view(driver, driver.find_element(By.CSS_SELECTOR, f'#pc rect.hit[data-axis="{key}"]'))
        ActionChains(driver).move_to_element_with_offset(hit, 0, 0).click().perform()
        check(len(table_runs(driver)) == expect["runs"], "a click on the axis clears the brush")

    # Reorder: drag the first axis name past the second.
    into_view(driver, driver.find_element(By.CSS_SELECTOR, "#pc svg"))
    names = driver.find_elements(By.CSS_SELECTOR, "#pc text.axis-title")
    before = [g.get_attribute("data-axis") for g in driver.find_elements(By.CSS_SELECTOR, "#pc g.pc-axis-g")]
    if len(before) >= 3:
        gap = names[1].location["x"] - names[0].location["x"]
        ActionChains(driver).move_to_element(names[0]).click_and_hold().move_by_offset(int(gap * 0.6), 0) \
            .move_by_offset(int(gap * 0.6), 0).release().perform()
        after = [g.get_attribute("data-axis") for g in driver.find_elements(By.CSS_SELECTOR, "#pc g.pc-axis-g")]
        check(after == [before[1], before[0]] + before[2:], "dragging an axis name moves the axis", f"{before} → {after}")

    # Log/linear toggle.
    toggles = driver.find_elements(By.CSS_SELECTOR, "#pc text.toggle")
    if check(len(toggles) > 0, "numeric axes have a log/linear toggle"):
        was = toggles[0].text
        toggle_key = toggles[0].get_attribute("data-toggle")
        toggles[0].click()
        now = driver.find_element(By.CSS_SELECTOR, f'#pc text.toggle[data-toggle="{toggle_key}"]').text
        check({was, now} == {"log", "linear"}, "the toggle switches the axis between log and linear", f"{was} → {now}")
        if expect.get("logParameter"):
            i = next(i for i, p in enumerate(d["parameters"]) if p["name"] == expect["logParameter"])
            label = driver.find_element(By.CSS_SELECTOR, f'#pc text.toggle[data-toggle="p{i}"]').text if f"p{i}" != toggle_key else was
            check(label == "log", f"{expect['logParameter']} (log-distributed) is on a log axis by default", label)
        driver.find_element(By.CSS_SELECTOR, f'#pc text.toggle[data-toggle="{toggle_key}"]').click()

    # Compare two runs, ticked in the table.
    a, b = expect["ticked"]
    for run in (a, b):
        into_view(driver, driver.find_element(By.CSS_SELECTOR, f'#runs-table input.pick[data-run="{run}"]')).click()
    table = wait_for(lambda: driver.find_element(By.ID, "compare-table"))
    if check(table is not None, "ticking two runs shows the comparison"):
        heads = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        check(any(f"run {a}" in t for t in heads) and any(f"run {b}" in t for t in heads), "the comparison has a column per ticked run", str(heads))
        ra = next(r for r in d["runs"] if r["id"] == a)
        rb = next(r for r in d["runs"] if r["id"] == b)
        differ = sorted(k for k in set(ra["config"]) | set(rb["config"]) if ra["config"].get(k) != rb["config"].get(k))
        marked = sorted(tr.find_element(By.TAG_NAME, "th").text for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr.diff")
                        if tr.find_element(By.TAG_NAME, "th").text in set(ra["config"]) | set(rb["config"]))
        check(marked == differ and len(differ) > 0, "config differences are highlighted, and only those", f"marked {marked}, differ {differ}")
        curves = driver.find_elements(By.CSS_SELECTOR, "#compare-chart path[stroke]")
        check(len(curves) == 2, "the ticked runs' learning curves are overlaid", f"{len(curves)} curves")
        rings = wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#scatters circle.ring"))
        check(bool(rings), "ticked runs are ringed in the scatters")
    driver.find_element(By.ID, "compare").location_once_scrolled_into_view
    full_shot(driver, os.path.join(shots, "static-compare.png"))

    # Export: the runs shown, with exact values (the download is caught before it is saved).
    csv = driver.execute_async_script("""
        var done = arguments[arguments.length - 1], blob = null;
        var create = URL.createObjectURL, click = HTMLAnchorElement.prototype.click;
        URL.createObjectURL = function (b) { blob = b; return 'data:text/plain,'; };
        HTMLAnchorElement.prototype.click = function () {};
        document.getElementById('export-csv').click();
        URL.createObjectURL = create; HTMLAnchorElement.prototype.click = click;
        if (!blob) { done(null); } else { blob.text().then(done); }""")
    if check(csv is not None, "export CSV makes a file"):
        lines = csv.strip().split("\n")
        check(len(lines) == 1 + expect["runs"], "the CSV has a header and a line per run shown", f"{len(lines)} lines")
        best = next(r for r in d["runs"] if r["id"] == d["best"])
        row = next((l for l in lines[1:] if l.startswith(f"{best['id']},")), "")
        exact = json.dumps(best["metric"])
        check(exact in row.split(","), f"the CSV carries the exact metric ({exact})", row)

    # Group by a parameter: the EDF has a line per group.
    driver.execute_script("var s = document.getElementById('group-by'); s.value = 'state'; s.dispatchEvent(new Event('change'))")
    groups = len({r["state"] for r in d["runs"] if r["metric"] is not None})
    edf_lines = lambda: driver.find_elements(By.CSS_SELECTOR, "#edf-chart path[stroke]")
    wait_for(lambda: len(edf_lines()) == groups)
    edf = edf_lines()
    check(len(edf) == groups, "grouping by state draws an EDF line per state", f"{len(edf)} lines, {groups} states with a metric")
    driver.execute_script("var s = document.getElementById('group-by'); s.value = ''; s.dispatchEvent(new Event('change'))")

    # The table fits the window.
    fits = driver.execute_script("var t = document.getElementById('runs-table'); return [t.scrollWidth, t.parentNode.clientWidth]")
    check(fits[0] <= fits[1] + 1, "the runs table fits a 1400 px window", f"table {fits[0]} px in {fits[1]} px")
    check(driver.find_elements(By.CSS_SELECTOR, "#contour-chart rect") != [], "the two-parameter view is drawn")
    errors = console_errors(driver)
    check(errors == [], "static page: no console messages or script errors", json.dumps(errors)[:2000])


def extra_checks(driver, directory, shots):
    """Pages at the edges (no run, one run, only failures, no metric, one parameter): each renders
    without a console message."""
    for name in sorted(os.listdir(directory)):
        if not (name.startswith("extra-") and name.endswith(".html")):
            continue
        driver.get("file://" + os.path.join(directory, name))
        ran = wait_for(lambda: driver.execute_script("return !!window.ncfPage"))
        errors = console_errors(driver)
        check(bool(ran) and errors == [], f"{name}: the script ran, no console messages", json.dumps(errors)[:1500])
        full_shot(driver, os.path.join(shots, name.replace(".html", ".png")))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def live_checks(driver, directory, expect, shots):
    handler = functools.partial(QuietHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        shutil.copyfile(os.path.join(directory, "data-first.json"), os.path.join(directory, "data.json"))
        driver.get(base + "/live.html")
        check(wait_for(lambda: driver.execute_script("return !!window.ncfPage")), "live page: the script ran")
        running = expect["running"]
        state = lambda: driver.find_element(By.CSS_SELECTOR, f'#runs-table tr[data-run="{running}"] .st').text
        check(state() == "running", f"live page: run {running} is running")
        header = driver.find_element(By.ID, "sweep-state").text
        driver.execute_script("window.__sameDocument = true")
        a, b = expect["ticked"]
        into_view(driver, driver.find_element(By.CSS_SELECTOR, f'#runs-table input.pick[data-run="{a}"]')).click()
        full_shot(driver, os.path.join(shots, "live-running.png"))
        # The run finishes: the served data changes (atomically, as the dashboard's reads are).
        tmp = os.path.join(directory, "data.json.tmp")
        shutil.copyfile(os.path.join(directory, "data-next.json"), tmp)
        os.replace(tmp, os.path.join(directory, "data.json"))
        updated = wait_for(lambda: state() == "finished", seconds=15)
        check(bool(updated), f"live page: run {running} shows finished within 15 s of the data changing", state())
        check(driver.execute_script("return window.__sameDocument === true"), "live page: updated in place, not reloaded")
        check(driver.execute_script("return window.ncfPage.state.selected.slice()") == [a], "live page: the ticks survive the update")
        new_header = driver.find_element(By.ID, "sweep-state").text
        check(new_header == expect["finishedState"], "live page: the header says the sweep's new state",
              f"{header!r} → {new_header!r}")
        chips = driver.find_element(By.CSS_SELECTOR, "[data-part=chips]").text
        check("running" not in chips, "live page: the state counts are redrawn", chips)
        full_shot(driver, os.path.join(shots, "live-finished.png"))
        errors = console_errors(driver)
        check(errors == [], "live page: no console messages or script errors", json.dumps(errors)[:2000])
    finally:
        # Leave the page before the server goes, so its next poll is not a console error on the next page.
        driver.get("about:blank")
        driver.get_log("browser")
        server.shutdown()
        server.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--shots", default="/tmp/ncf-page-shots")
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    with open(os.path.join(args.dir, "expect.json")) as f:
        expect = json.load(f)
    try:
        driver = browser()
    except Exception as e:  # no browser or driver: the Swift test decides whether that fails
        print(f"cannot start Chromium through chromedriver: {e}")
        return 2
    try:
        static_checks(driver, "file://" + os.path.abspath(os.path.join(args.dir, "static.html")), expect, args.shots)
        live_checks(driver, os.path.abspath(args.dir), expect, args.shots)
        extra_checks(driver, os.path.abspath(args.dir), args.shots)
    finally:
        driver.quit()
    print(f"{len(failures)} failed" if failures else "every check passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
