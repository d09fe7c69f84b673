#!/usr/bin/env bash
# Time a fresh clone's `make serve` from the command to grpc.health.v1 SERVING (issue 18:
# "fresh-clone make serve <= 4 min"), then stop it.
#
#   bash bench/fresh_serve.sh [REPO (default: this checkout)] [WORKDIR (default: a new temp dir)]
#
# Uses port 50051 (make serve's default): nothing else may listen there. Prints the seconds;
# pip's cache state (warm or cold) is the caller's to report.
set -euo pipefail
repo=${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}
work=${2:-$(mktemp -d /tmp/kgrec-fresh-serve.XXXXXX)}
git clone -q "$repo" "$work/kgrec"
cd "$work/kgrec"
start=$(date +%s.%N)
setsid make serve > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null || true; sleep 5; kill -KILL -- -$pid 2>/dev/null || true' EXIT
probe='
import sys, grpc
from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as hg
try:
    r = hg.HealthStub(grpc.insecure_channel("127.0.0.1:50051")).Check(h.HealthCheckRequest(), timeout=1)
    sys.exit(0 if r.status == h.HealthCheckResponse.SERVING else 1)
except Exception:
    sys.exit(1)
'
until [ -x .venv/bin/python ] && .venv/bin/python -c "$probe" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "make serve exited; see $work/serve.log"; exit 1; }
  sleep 2
done
end=$(date +%s.%N)
echo "fresh-clone make serve to SERVING: $(python3 -c "print(f'{$end - $start:.1f}')") s (log: $work/serve.log)"
