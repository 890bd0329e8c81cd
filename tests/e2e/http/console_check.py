#!/usr/bin/python3
"""The web console in headless Chromium (Selenium) on the demo ledger.

usage: console_check.py HTTP_BASE SEQS_FILE SHOT_DIR

Loads every page, checks what users rely on (the seed loop's stage, the
unacted finding, the decision and its evidence, the roadmap order, the
entry's in-browser verification), fails on any browser console error, and
saves one screenshot per page in SHOT_DIR. Then serves the console through
a proxy that flips one byte of every inclusion proof and checks that the
entry page says "verification failed".
"""
import base64
import http.server
import json
import os
import shutil
import socketserver
import sys
import tempfile
import threading
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, SEQS, SHOTS = sys.argv[1:4]
os.makedirs(SHOTS, exist_ok=True)
s = {k: int(v) for k, v in (l.split() for l in open(SEQS) if l.strip())}


def api(path, base=BASE):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.load(r)


profile = tempfile.mkdtemp(prefix="ll-chromium-")
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=" + profile]:
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def load(base, frag, shot):
    driver.get("about:blank")  # a fragment change alone would not reload
    driver.get(base + "/console/" + frag)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.body.getAttribute('data-ready') === '1' &&"
        " (!document.getElementById('verification') || !!document.getElementById('verify-result'));"))
    h = driver.execute_script("return Math.min(6000, document.documentElement.scrollHeight)")
    driver.set_window_size(1400, max(700, h + 20))
    driver.save_screenshot(os.path.join(SHOTS, shot + ".png"))
    driver.set_window_size(1400, 1000)
    errs = driver.execute_script("return document.getElementById('error') ? document.getElementById('error').textContent : ''")
    if errs:
        fail("%s: page error: %s" % (frag, errs))
    for entry in driver.get_log("browser"):
        if entry["level"] in ("SEVERE", "ERROR"):
            fail("%s: browser console: %s" % (frag, entry["message"]))
    text = driver.find_element(By.TAG_NAME, "main").text
    for bad in ("undefined", "NaN", "null", "[object Object]"):
        if bad in text.split():
            fail("%s: the page shows %r" % (frag, bad))
    return text


try:
    # Portfolio: the seed loop's stage and cycle, its KPIs.
    t = load(BASE, "#/", "portfolio")
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-initiative='reco-engine']").text
    if "redeploy" not in row or "pilot" not in row:
        fail("portfolio row does not show pilot/redeploy: %r" % row)
    if ("on track" not in row and "off track" not in row) or "gap" not in row:
        fail("portfolio row shows no KPI track and gap: %r" % row)
    print("portfolio: reco-engine pilot, stage redeploy, KPI tracks and gaps shown")

    # Initiative: stage, the unacted finding, charts, experiments, plans.
    t = load(BASE, "#/i/reco-engine", "initiative")
    if "redeploy" not in driver.find_element(By.ID, "stage").text:
        fail("initiative page: stage is not redeploy")
    ow = driver.find_element(By.ID, "open-work").text
    if "#%d" % s["open_finding"] not in ow:
        fail("initiative page: the unacted finding #%d is not listed: %r" % (s["open_finding"], ow))
    if len(driver.find_elements(By.CSS_SELECTOR, "#kpis svg")) < 2:
        fail("initiative page: KPI charts missing")
    if not driver.find_elements(By.CSS_SELECTOR, "#kpis svg line.target"):
        fail("initiative page: no target line")
    if not driver.find_elements(By.CSS_SELECTOR, "#kpis svg circle.point"):
        fail("initiative page: KPI charts show no measurement")
    ex = driver.find_element(By.ID, "experiments").text
    if "ai_content" not in ex or "%" not in ex or "verdict" not in ex:
        fail("initiative page: experiment readout or its verdict missing: %r" % ex)
    if "#%d" % s["scaling_plan"] not in driver.find_element(By.ID, "scaling").text:
        fail("initiative page: scaling plan missing")
    print("initiative: stage redeploy, unacted finding #%d, KPI charts with target, readout, scaling plan" % s["open_finding"])

    # Decisions: the approval and the evidence behind the adjustment.
    t = load(BASE, "#/decisions", "decisions")
    dec = driver.find_element(By.ID, "decisions").text
    if "#%d" % s["approval"] not in dec or "#%d" % s["adjustment"] not in dec:
        fail("decisions: approval #%d of adjustment #%d missing" % (s["approval"], s["adjustment"]))
    ev = " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, "#decisions td.evidence"))
    if "#%d" % s["conclusion"] not in ev:
        fail("decisions: the concluding finding #%d is not shown as evidence: %r" % (s["conclusion"], ev))
    print("decisions: #%d approved adjustment #%d on evidence incl. finding #%d" % (s["approval"], s["adjustment"], s["conclusion"]))

    load(BASE, "#/pending", "pending")
    load(BASE, "#/actor/ana", "actor")
    if "ana" not in driver.find_element(By.TAG_NAME, "h1").text:
        fail("actor page title")
    load(BASE, "#/entries", "entries")

    # Roadmap: the order the RPC gives.
    load(BASE, "#/roadmap", "roadmap")
    want = [p["title"] for p in api("/v1/roadmap/priorities?pageSize=100")["projects"]]
    got = [r.find_elements(By.TAG_NAME, "td")[1].text.split("\n")[0]
           for r in driver.find_elements(By.CSS_SELECTOR, "#roadmap tbody tr")]
    if got != want or not got:
        fail("roadmap order %r != %r" % (got, want))
    print("roadmap: %d projects in the RPC's order" % len(got))

    # Lineage: a graph whose nodes link on.
    load(BASE, "#/lineage/%d" % s["conclusion"], "lineage")
    nodes = driver.find_elements(By.CSS_SELECTOR, "#lineage svg .node")
    if len(nodes) < 3 or not driver.find_elements(By.CSS_SELECTOR, "#lineage svg .edge"):
        fail("lineage graph has %d nodes" % len(nodes))
    print("lineage: %d nodes" % len(nodes))

    # Entry: all fields and the in-browser verification.
    load(BASE, "#/e/%d" % s["conclusion"], "entry")
    res = driver.find_element(By.ID, "verify-result").text
    if not res.startswith("verified"):
        fail("entry verification: %r" % res)
    if "finding" not in driver.find_element(By.ID, "entry-body").text:
        fail("entry page does not show the body fields")
    print("entry #%d: %s" % (s["conclusion"], res))

    # As of a tree size: the initiative before the adjustment.
    asof = s["adjustment"]
    load(BASE, "#/i/reco-engine?asof=%d" % asof, "initiative-asof")
    st = driver.find_element(By.ID, "stage").text
    if "redeploy" in st:
        fail("as of %d the loop had not redeployed yet: %r" % (asof, st))
    if "as of tree size %d" % asof not in driver.find_element(By.TAG_NAME, "h1").text:
        fail("as-of not stated on the page")
    print("as of %d: stage %s" % (asof, st))
finally:
    pass

# ---- a tampering proxy: one byte of each inclusion proof flipped ----
class Proxy(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        try:
            with urllib.request.urlopen(BASE + self.path, timeout=30) as r:
                body, status, ctype = r.read(), r.status, r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            body, status, ctype = e.read(), e.code, e.headers.get("Content-Type")
        if "/inclusion-proof" in self.path and status == 200:
            d = json.loads(body)
            h = bytearray(base64.b64decode(d["hashes"][0]))
            h[5] ^= 0x01
            d["hashes"][0] = base64.b64encode(bytes(h)).decode()
            body = json.dumps(d).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
threading.Thread(target=srv.serve_forever, daemon=True).start()
PB = "http://127.0.0.1:%d" % srv.server_address[1]
driver.get(PB + "/console/#/e/%d" % s["conclusion"])
WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, "verify-result"))
res = driver.find_element(By.ID, "verify-result").text
driver.save_screenshot(os.path.join(SHOTS, "entry-tampered.png"))
if not res.startswith("verification failed"):
    fail("a flipped proof byte was not caught: %r" % res)
print("tampered proof: %s" % res)
driver.get_log("browser")
srv.shutdown()
driver.quit()
shutil.rmtree(profile, ignore_errors=True)
if failures:
    sys.exit("%d console check(s) failed" % len(failures))
print("console: all pages load without console errors; screenshots in " + SHOTS)
