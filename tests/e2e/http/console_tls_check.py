#!/usr/bin/python3
# The console over HTTPS in headless Chromium with a client certificate, the
# way a reviewer's browser reaches it: the certificate and key ops/certs
# bundles as PKCS#12 are imported into an NSS database under a temporary
# HOME (Chromium on Linux reads $HOME/.pki/nssdb), the dev CA is trusted
# there for the server certificate, and the AutoSelectCertificateForUrls
# policy picks the certificate for this origin without a dialog (headless
# Chromium has none: without the policy the page never loads).
#
# Chromium on Linux reads policies only from /etc/chromium/policies (its
# --policy switch is honoured on Android debug builds only), and a test
# must not change the machine's browser: so the script re-runs itself in a
# private mount namespace (unshare --user --map-root-user --mount, no
# privileges needed where user namespaces are allowed) in which a
# temporary directory is bind-mounted over /etc/chromium. Nothing outside
# this process tree sees the policy. The portfolio page must load with its data, name the
# certificate's actor, show no error, and log no browser console error; a
# screenshot is kept.
#
# usage: console_tls_check.py BASE CA_CRT P12 ACTOR EXPECT_TEXT SHOTS
#   exit 0 on success, 1 on a failed check, 77 when the browser cannot be
#   given a client certificate here (no certutil/pk12util, or no user
#   namespaces), with the reason
import json
import os
import shutil
import subprocess
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

BASE, CA, P12, ACTOR, EXPECT, SHOTS = sys.argv[1:7]
for tool in ("certutil", "pk12util", "unshare"):
    if not shutil.which(tool):
        print("SKIP: %s (Debian libnss3-tools, util-linux) is not installed" % tool)
        sys.exit(77)

origin = BASE.rstrip("/")
if os.environ.get("LL_CHROMIUM_POLICY_DIR") is None:
    pol = tempfile.mkdtemp(prefix="ll-chromium-etc-")
    if os.path.isdir("/etc/chromium"):  # keep what the package put there
        for f in os.listdir("/etc/chromium"):
            src = os.path.join("/etc/chromium", f)
            if os.path.isfile(src):
                shutil.copy(src, pol)
    os.makedirs(os.path.join(pol, "policies", "managed"))
    with open(os.path.join(pol, "policies", "managed", "loopledger-test.json"), "w") as f:
        json.dump({"AutoSelectCertificateForUrls": [json.dumps(
            {"pattern": origin, "filter": {"ISSUER": {"CN": "loopledger dev CA"}}})]}, f)
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            'mkdir -p /etc/chromium && mount --bind "$0" /etc/chromium', pol],
                           capture_output=True, text=True)
    if probe.returncode:
        shutil.rmtree(pol, ignore_errors=True)
        print("SKIP: no private mount namespace here (%s)" % probe.stderr.strip())
        sys.exit(77)
    env = dict(os.environ, LL_CHROMIUM_POLICY_DIR=pol)
    rc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                         'mount --bind "$0" /etc/chromium && exec "$@"', pol, sys.executable,
                         os.path.abspath(__file__)] + sys.argv[1:], env=env).returncode
    shutil.rmtree(pol, ignore_errors=True)
    sys.exit(rc)

home = tempfile.mkdtemp(prefix="ll-chromium-home-")
db = "sql:" + os.path.join(home, ".pki", "nssdb")
os.makedirs(os.path.join(home, ".pki", "nssdb"))
subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True)
subprocess.run(["certutil", "-A", "-d", db, "-n", "loopledger dev CA", "-t", "CT,,", "-i", CA],
               check=True)
subprocess.run(["pk12util", "-i", P12, "-d", db, "-W", ""], check=True,
               stdout=subprocess.DEVNULL)

opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--window-size=1400,1000",
          "--user-data-dir=" + os.path.join(home, "profile")]:
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
env = dict(os.environ, HOME=home)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env=env), options=opts)
failures = []
try:
    driver.get(origin + "/console/#/")
    WebDriverWait(driver, 60).until(lambda d: d.execute_script(
        "return document.body.getAttribute('data-ready') === '1' ||"
        " !!(document.getElementById('error') && document.getElementById('error').textContent);"))
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, "tls-portfolio.png"))
    err = driver.execute_script(
        "return document.getElementById('error') ? document.getElementById('error').textContent : ''")
    if err:
        failures.append("page error: " + err)
    text = driver.execute_script("return document.body.innerText")
    if "signed in as " + ACTOR not in text:
        failures.append("the page does not say it is signed in as %s: %r" % (ACTOR, text[:300]))
    if EXPECT not in text:
        failures.append("the portfolio does not show %r" % EXPECT)
    for entry in driver.get_log("browser"):
        if entry["level"] in ("SEVERE", "ERROR"):
            failures.append("browser console: " + entry["message"])
finally:
    driver.quit()
    shutil.rmtree(home, ignore_errors=True)
for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("chromium: the portfolio over HTTPS as %s (client certificate from %s)" % (ACTOR, os.path.basename(P12)))
