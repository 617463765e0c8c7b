#!/usr/bin/env bash
# Install the Debian packages the ops tests need, only when missing (idempotent, quiet):
#   - prometheus      -> promtool (check config/rules, rule unit tests) and the server for `make run`
#   - prometheus-alertmanager -> the real Alertmanager the paging tests, bench and `make run` start
#   - docker-compose  -> `docker-compose config -q` validates docker-compose.yml without an engine
#                        (skipped when `docker compose` v2 is available)
#   - wrk             -> HTTP load generator for bench/ingest_bench.py
#   - chromium        -> headless browser: the HTML report test and its README screenshot
# Needs root (or sudo) and Debian/Ubuntu apt. Usable from `make setup` and .ci/run.
set -euo pipefail

packages=()
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
command -v wrk >/dev/null 2>&1 || packages+=(wrk)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v prometheus-alertmanager >/dev/null 2>&1 || packages+=(prometheus-alertmanager)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    packages+=(docker-compose)
fi
((${#packages[@]})) || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install ${packages[*]} by hand (promtool must be on PATH)" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: run as root to install ${packages[*]}" >&2; exit 1; }
    sudo=(sudo)
fi

echo "installing system packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# --no-install-recommends: no node-exporter etc.; policy-rc.d-less containers just skip service start.
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null

command -v promtool >/dev/null 2>&1 || { echo "error: promtool still missing after install" >&2; exit 1; }
command -v prometheus-alertmanager >/dev/null 2>&1 || {
    echo "error: prometheus-alertmanager still missing after install" >&2
    exit 1
}
