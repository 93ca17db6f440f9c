#!/usr/bin/env sh
# Debian's Chromium for the explorer's browser tests (tests/test_explorer_browser.py).
# Playwright drives this system browser: Playwright's own browser download needs internet
# access that CI and many locked-down machines do not have. Installs only when missing, and
# only as root with apt-get; otherwise says why the browser tests will be skipped.
set -u
for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then
        exit 0
    fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the explorer's browser tests"
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
        exit 0
    fi
    echo "note: apt-get could not install chromium; the explorer's browser tests will be skipped"
else
    echo "note: chromium is not installed and this is not root with apt-get; the explorer's browser tests will be skipped"
fi
exit 0
