#!/usr/bin/env bash
# Takes a screenshot of an HTML report (report.html, compare.html) in headless Chromium,
# the way a person would see it: opened from disk, with a fresh profile and no network.
#
# usage: scripts/screenshot.sh PAGE.html SHOT.png [HEIGHT]
#
# The browser is $CONTEND_CHROMIUM, else the first of chromium, chromium-browser and
# google-chrome on PATH (Debian: apt-get install -y chromium). Exit codes: 0 the
# screenshot was written; 1 the browser ran but wrote no screenshot; 2 usage;
# 3 no browser found.
set -euo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 PAGE.html SHOT.png [HEIGHT]" >&2
    exit 2
fi
page=$1
shot=$2
height=${3:-2000}
if [ ! -f "$page" ]; then
    echo "screenshot.sh: no such page: $page" >&2
    exit 2
fi

browser=${CONTEND_CHROMIUM:-}
if [ -z "$browser" ]; then
    for candidate in chromium chromium-browser google-chrome; do
        if command -v "$candidate" >/dev/null 2>&1; then
            browser=$candidate
            break
        fi
    done
fi
if [ -z "$browser" ] || ! command -v "$browser" >/dev/null 2>&1; then
    echo "screenshot.sh: no Chromium found${browser:+ at $browser}; install it (Debian: apt-get install -y chromium) or set CONTEND_CHROMIUM" >&2
    exit 3
fi

page_abs="$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
mkdir -p "$(dirname "$shot")"
shot_abs="$(cd "$(dirname "$shot")" && pwd)/$(basename "$shot")"
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$shot_abs"

timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --hide-scrollbars --user-data-dir="$profile" \
    --screenshot="$shot_abs" --window-size="1280,$height" "file://$page_abs" >"$log" 2>&1 || true

if [ ! -s "$shot_abs" ]; then
    echo "screenshot.sh: $browser wrote no screenshot of $page; its output:" >&2
    cat "$log" >&2
    exit 1
fi
echo "$shot"
