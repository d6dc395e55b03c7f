#!/usr/bin/env bash
# `make fuzz-proxy`: a release kgate on a config with routes, regex captures, request, tracing and
# AI prompt plugins (JSON bodies), grpc-gateway (a .proto file), an nginx upstream, and FUZZERS mutation fuzzers (Tests/Fuzz/proxy_fuzz.py) sending
# REQUESTS requests each. Fails when the node crashes or stops answering, and prints its log.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
REQUESTS="${REQUESTS:-15000}"; FUZZERS="${FUZZERS:-3}"; SEED="${SEED:-$RANDOM}"
WORK="$(mktemp -d /tmp/kgate-fuzz.XXXXXX)"; PIDS=()
trap 'for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT INT TERM
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { echo "fuzz-proxy: needs nginx (make bench-proxy installs it)"; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
cat > "$WORK/upstream.conf" <<CONF
worker_processes 1; daemon off; pid $WORK/upstream.pid; error_log $WORK/upstream-error.log warn;
events { worker_connections 4096; }
http { access_log off; default_type text/plain; client_max_body_size 10m;
  server { listen 127.0.0.1:18090; location / { return 200 "hello world\n"; } } }
CONF
cat > "$WORK/kong.yml" <<'CONF'
_format_version: "3.0"
services:
- name: fuzz
  url: http://127.0.0.1:18090
  routes:
  - name: all
    paths: [/]
  - name: captures
    paths: ["~/a/(?<x>[^/]+)/b$"]
    hosts: ["*.example.com", "bench"]
  - name: ai
    paths: [/ai]
    plugins:
    - name: ai-prompt-template
      config: {templates: [{name: t, template: '{"messages":[{"role":"user","content":"about {{x}}"}]}'}]}
    - name: ai-prompt-decorator
      config: {prompts: {prepend: [{content: Be brief.}], append: [{role: user, content: Thanks.}]}}
    - name: ai-prompt-guard
      config: {allow_patterns: [".*"], deny_patterns: ["(a|aa)+b"], match_all_roles: true}
  - name: gateway
    paths: [/gw]
    plugins:
    - name: grpc-gateway
      config: {proto: "@WORK@/fuzz.proto"}
plugins:
- name: cors
- name: correlation-id
- name: request-transformer
  config:
    add:
      headers: ["x-a:1"]
- name: request-size-limiting
  config:
    allowed_payload_size: 1
- name: opentelemetry
  config: {traces_endpoint: "http://127.0.0.1:18090/v1/traces", http_response_header_for_traceid: x-trace}
- name: zipkin
  config: {http_endpoint: "http://127.0.0.1:18090/zipkin", sample_ratio: 0.5, header_type: b3-single}
CONF
sed -i "s#@WORK@#$WORK#" "$WORK/kong.yml"
cat > "$WORK/fuzz.proto" <<'CONF'
syntax = "proto3";
package fuzz;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
service Items {
  rpc Get(Item) returns (Item) {
    option (google.api.http) = { get: "/gw/v1/items/{id}" additional_bindings { post: "/gw/v1/items/{name=**}" body: "*" } };
  }
}
message Item { int64 id = 1; string name = 2; Part part = 3; bool on = 4; repeated string tags = 5;
  map<string, int32> counts = 6; google.protobuf.Timestamp at = 7; Kind kind = 8; oneof x { double d = 9; bytes b = 10; } }
message Part { string label = 1; Part inner = 2; }
enum Kind { NONE = 0; SOME = 1; }
CONF
BIN="${KGATE_BIN:-$ROOT/.build/release/kgate}"
"$NGINX" -p "$WORK" -c "$WORK/upstream.conf" & PIDS+=($!)
KONG_PREFIX="$WORK/kgate" KONG_LOG_LEVEL=error KONG_PROXY_LISTEN="127.0.0.1:18091" KONG_ADMIN_LISTEN=off \
  KONG_STATUS_LISTEN=off KONG_DECLARATIVE_CONFIG="$WORK/kong.yml" KONG_DECLARATIVE_CONFIG_WATCH=off \
  KONG_NGINX_HTTP_GZIP=on "$BIN" start > "$WORK/kgate.log" 2>&1 & KGATE=$!; PIDS+=($KGATE)
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/18091) 2>/dev/null && break; sleep 0.1; done
echo "fuzz-proxy: $FUZZERS fuzzers x $REQUESTS requests, seeds $SEED.."
FUZZ=()
for i in $(seq 1 "$FUZZERS"); do
  LAST_FILE="$WORK/last-$i.txt" python3 "$HERE/proxy_fuzz.py" 18091 "$REQUESTS" "$((SEED + i))" > "$WORK/fuzz-$i.out" 2>&1 & FUZZ+=($!)
done
failed=0
for i in "${!FUZZ[@]}"; do wait "${FUZZ[$i]}" || failed=1; done
cat "$WORK"/fuzz-*.out
if [ "$failed" = 1 ] || ! kill -0 "$KGATE" 2>/dev/null; then
  echo "fuzz-proxy: FAILED; last requests:"; cat "$WORK"/last-*.txt; echo "kgate log:"; cat "$WORK/kgate.log"; exit 1
fi
echo "fuzz-proxy: ok, the node served every check"
