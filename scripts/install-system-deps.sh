#!/usr/bin/env bash
# System packages the tests and peers use, from Debian. Idempotent: skips what is already there.
#   chromium           end-to-end test of the web page (driven by playwright-core)
#   python3-xarray     reads the exported netCDF back, as ArviZ would
#   python3-netcdf4    the netCDF backend xarray uses
#   python3-fastapi python3-uvicorn python3-numpy   the FastAPI peer of bench/service.ts (run with /usr/bin/python3)
#   wrk                the HTTP load generator of bench/service.ts
#   curl               the requests docs/models.md shows (its test runs them)
set -euo pipefail
want=(chromium python3-xarray python3-netcdf4 python3-fastapi python3-uvicorn python3-numpy wrk curl)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "install-system-deps: need root to install ${missing[*]}; the tests that use them will be skipped" >&2
  exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || \
  echo "install-system-deps: could not install ${missing[*]}; the tests that use them will be skipped" >&2
