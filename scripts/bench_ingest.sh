#!/usr/bin/env bash
# Remote-write ingest side by side with VictoriaMetrics and Prometheus
# (Debian packages `victoria-metrics` and `prometheus`; peers that are not
# installed are skipped). Env: SERIES, SAMPLES, CONCURRENCY, PEERS, ROUNDS,
# QUERY_RUNS, ALMANAC_FLAGS. Exits 1 when a request failed or a peer does not
# hold every series and acknowledged sample.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p server
exec cargo bench --bench ingest_compare
