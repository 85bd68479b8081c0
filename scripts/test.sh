#!/usr/bin/env bash
# The whole test suite: formatting, lints, every crate's unit tests, the
# end-to-end tests in tests/ and the PromQL conformance scripts.
# Installs what the end-to-end suite needs when it is missing (Debian
# packages, the OpenTelemetry Python SDK, the Loki clients from PyPI and
# npm).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
for bin_pkg in "prometheus:prometheus" "prometheus-alertmanager:prometheus-alertmanager"; do
  bin=${bin_pkg%%:*}; pkg=${bin_pkg##*:}
  command -v "$bin" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ "${#need_pkgs[@]}" -gt 0 ] && [ "${ALMANAC_SKIP_INSTALL:-0}" != 1 ]; then
  echo "installing ${need_pkgs[*]} for the end-to-end tests"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# The OpenTelemetry Python SDK for tests/otlp_e2e.rs and tests/traces_e2e.rs,
# python-logging-loki for tests/logs_e2e.rs (PyPI).
py_pkgs=(opentelemetry-sdk opentelemetry-exporter-otlp-proto-http python-logging-loki)
if ! python3 -c "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http, logging_loki" 2>/dev/null \
  && [ "${ALMANAC_SKIP_INSTALL:-0}" != 1 ]; then
  echo "installing ${py_pkgs[*]} for the end-to-end tests"
  python3 -m pip install --quiet "${py_pkgs[@]}"
fi

# winston-loki (snappy protobuf push) for tests/logs_e2e.rs (npm, versions
# pinned by tests/logs/package-lock.json). tests/logs_tail_e2e.rs tails
# with Node's own WebSocket client (Node.js 20.10 or later).
if [ ! -d tests/logs/node_modules/winston-loki ] && [ "${ALMANAC_SKIP_INSTALL:-0}" != 1 ]; then
  echo "installing winston-loki for the end-to-end tests"
  (cd tests/logs && npm ci --no-audit --no-fund --silent)
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings
cargo test --workspace --release
