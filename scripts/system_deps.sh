#!/usr/bin/env bash
# Debian packages the browser and PDF tests use: chromium (the dashboard in a real browser) and
# poppler-utils (pdftoppm renders digest PDFs to PNG). Installed when missing and we may (root or sudo);
# otherwise the tests that need them are skipped, and say so.
set -uo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "note: ${missing[*]} not installed and no apt-get here; the browser/PDF tests will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "note: install ${missing[*]} (apt) to run the browser/PDF tests; they will be skipped" >&2
        exit 0
    fi
fi
echo "installing ${missing[*]} (Debian packages, for the browser and PDF tests)..." >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
         --no-install-recommends "${missing[@]}" >/dev/null; } \
    || echo "note: could not install ${missing[*]}; the browser/PDF tests will be skipped" >&2
exit 0
