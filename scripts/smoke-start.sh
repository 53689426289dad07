#!/usr/bin/env bash
# The README's first command, for real: `npm start` with no configuration
# serves gRPC health on 4317 (embedded database in a temporary DATA_DIR).
# npm does not forward signals, so the whole process group is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
data=$(mktemp -d)
log=$(mktemp)
cleanup() { kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data" "$log"; }
DATA_DIR="$data" setsid npm start >"$log" 2>&1 &
pid=$!
trap cleanup EXIT
status=""
for _ in $(seq 1 60); do
  status=$(node -e '
    const grpc = require("@grpc/grpc-js"), loader = require("@grpc/proto-loader"), { protoPath } = require("grpc-health-check");
    const def = grpc.loadPackageDefinition(loader.loadSync(protoPath, { enums: String }));
    const c = new def.grpc.health.v1.Health("127.0.0.1:4317", grpc.credentials.createInsecure());
    c.check({ service: "" }, { deadline: Date.now() + 1000 }, (e, r) => { console.log(e ? "" : r.status); process.exit(0); });
  ' 2>/dev/null || true)
  [ "$status" = "SERVING" ] && break
  sleep 1
done
if [ "$status" != "SERVING" ]; then
  echo "npm start did not serve health on 4317; its output:" >&2
  cat "$log" >&2
  exit 1
fi
echo "npm start: grpc.health.v1 Check on 127.0.0.1:4317 answers SERVING"
