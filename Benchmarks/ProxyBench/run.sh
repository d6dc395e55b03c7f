#!/usr/bin/env bash
# `make bench-proxy`: kgate's proxy against nginx's reverse proxy, side by side on this machine.
#
#   upstream  nginx (1 worker) answering "hello world\n"                  127.0.0.1:18080
#   reference nginx proxy_pass + upstream keepalive (WORKERS)              127.0.0.1:18081
#   gateway   kgate (release), kong.yml: the same route, no plugins        127.0.0.1:18082
#   plugins   kgate (release), kong-plugins.yml: the route with key-auth   127.0.0.1:18083
#             and rate-limiting (a limit never reached); wrk sends the key
#   nginx+kong the reference adding the headers Kong's nginx template adds  127.0.0.1:18084
#             (X-Forwarded-*, X-Real-IP, X-Kong-Request-Id up; Via, X-Kong-* down)
#   nio-relay  kgate-bench-relay: a SwiftNIO byte relay, one upstream         127.0.0.1:18085
#             connection per client and no HTTP work, the floor of any proxy built on
#             SwiftNIO's channels
#
# wrk runs against each in alternation (nginx, kgate, kgate+plugins, nginx, ...), ROUNDS times,
# after a warm-up of each; the script prints the median requests/s and p99 of each, the
# kgate/nginx ratios and the plugins' throughput loss against kgate without plugins. The target
# is against the bare reference; the nginx+kong line shows what nginx does with the same header
# work as Kong and kgate (KONG_REF=0 skips it); the nio-relay line shows what SwiftNIO's channels
# alone cost against nginx, and kgate's own work against that floor (RELAY_REF=0 skips it).
# Everything listens on 127.0.0.1 only and every
# run is bounded.
#
# Knobs (environment): WORKERS (worker processes = kgate event loops, default 1),
# DURATION (s per run, 10), ROUNDS (5), CONNECTIONS (50), THREADS (wrk threads, 1),
# PROXY_CPUS / UPSTREAM_CPUS / WRK_CPUS (taskset lists: 1 / 1 / 0 on 2 cores),
# PLUGINS (1: include the plugin run; 0: skip it), CLOSE (1: every request on a new connection,
# `Connection: close`, which measures accepting and closing connections), ACCESS_LOG (0: no
# access log on either side, as the reference has `access_log off`; 1: both write one line per
# request to a file, nginx in an equivalent of Kong's kong_log_format),
# KONG_REF (1: include nginx+kong, the reference adding Kong's headers; 0: skip it),
# RELAY_REF (1: include nio-relay, the SwiftNIO floor; 0: skip it),
# KGATE_BIN (a prebuilt kgate executable, skipping the release build of the package).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORKERS="${WORKERS:-1}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-5}"
CONNECTIONS="${CONNECTIONS:-50}"
THREADS="${THREADS:-1}"
CORES="$(nproc)"
if [ "$CORES" -ge 2 ]; then
  PROXY_CPUS="${PROXY_CPUS:-1}"; UPSTREAM_CPUS="${UPSTREAM_CPUS:-1}"; WRK_CPUS="${WRK_CPUS:-0}"
else
  PROXY_CPUS="${PROXY_CPUS:-0}"; UPSTREAM_CPUS="${UPSTREAM_CPUS:-0}"; WRK_CPUS="${WRK_CPUS:-0}"
fi
PLUGINS="${PLUGINS:-1}"
KONG_REF="${KONG_REF:-1}"
RELAY_REF="${RELAY_REF:-1}"
CLOSE="${CLOSE:-0}"
ACCESS_LOG="${ACCESS_LOG:-0}"
WORK="$(mktemp -d /tmp/kgate-bench.XXXXXX)"
SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# --- tools -----------------------------------------------------------------------------------
missing=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
if [ -n "$missing" ]; then
  echo "bench-proxy: installing$missing"
  $SUDO apt-get update -qq
  # RUNLEVEL=1 keeps the package from starting a system nginx.
  RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

wait_port() { # port
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

probe() { # port [extra header] → 0 when a proxied request answers 200 with the upstream's body
  local out extra="${2:+$2\r\n}"
  out="$(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET / HTTP/1.1\r\nHost: bench\r\n${extra}Connection: close\r\n\r\n" >&3 && timeout 2 cat <&3)" || return 1
  [[ "$out" == *"200 OK"* && "$out" == *"hello world"* ]]
}

# --- upstream and reference proxy -------------------------------------------------------------
sed "s#@DIR@#$WORK#g" "$HERE/upstream.conf" > "$WORK/upstream.conf"
if [ "$ACCESS_LOG" = 1 ]; then NGINX_ACCESS_LOG="$WORK/proxy-access.log kong_log_format"; else NGINX_ACCESS_LOG=off; fi
if [ "$ACCESS_LOG" = 1 ]; then KGATE_ACCESS_LOG=logs/access.log; else KGATE_ACCESS_LOG=off; fi
sed -e "s#@DIR@#$WORK#g" -e "s#@WORKERS@#$WORKERS#g" -e "s#@ACCESS_LOG@#$NGINX_ACCESS_LOG#g" "$HERE/proxy.conf" > "$WORK/proxy.conf"
taskset -c "$UPSTREAM_CPUS" "$NGINX" -p "$WORK" -c "$WORK/upstream.conf" & PIDS+=($!)
taskset -c "$PROXY_CPUS" "$NGINX" -p "$WORK" -c "$WORK/proxy.conf" & PIDS+=($!)
wait_port 18080 && wait_port 18081 && wait_port 18084 || { echo "bench-proxy: nginx did not start"; cat "$WORK"/*.log; exit 1; }

# --- kgate ------------------------------------------------------------------------------------
BIN="${KGATE_BIN:-}"
if [ -z "$BIN" ]; then
  (cd "$ROOT" && swift build -c release -Xswiftc -enforce-exclusivity=unchecked --product kgate >/dev/null 2>"$WORK/build.log") \
    || { echo "bench-proxy: release build failed"; cat "$WORK/build.log"; exit 1; }
  BIN="$ROOT/.build/release/kgate"
fi
start_kgate() { # port config → starts `kgate start` on it, pinned like nginx's proxy
  KONG_PREFIX="$WORK/kgate-$1" KONG_NGINX_WORKER_PROCESSES="$WORKERS" KONG_LOG_LEVEL=warn \
    KONG_PROXY_LISTEN="127.0.0.1:$1 reuseport backlog=16384" KONG_ADMIN_LISTEN=off KONG_STATUS_LISTEN=off \
    KONG_PROXY_ACCESS_LOG="$KGATE_ACCESS_LOG" \
    KONG_DECLARATIVE_CONFIG="$HERE/$2" KONG_DECLARATIVE_CONFIG_WATCH=off \
    taskset -c "$PROXY_CPUS" "$BIN" start > "$WORK/kgate-$1.log" 2>&1 & PIDS+=($!)
  wait_port "$1" || { echo "bench-proxy: kgate ($2) did not start"; cat "$WORK/kgate-$1.log"; exit 1; }
}
start_kgate 18082 kong.yml
if [ "$RELAY_REF" = 1 ]; then
  (cd "$ROOT" && swift build -c release -Xswiftc -enforce-exclusivity=unchecked --product kgate-bench-relay >/dev/null 2>"$WORK/build-relay.log") \
    || { echo "bench-proxy: release build of kgate-bench-relay failed"; cat "$WORK/build-relay.log"; exit 1; }
  taskset -c "$PROXY_CPUS" "$ROOT/.build/release/kgate-bench-relay" 18085 18080 > "$WORK/relay.log" 2>&1 & PIDS+=($!)
  wait_port 18085 || { echo "bench-proxy: kgate-bench-relay did not start"; cat "$WORK/relay.log"; exit 1; }
fi
[ "$PLUGINS" = 1 ] && start_kgate 18083 kong-plugins.yml
probe 18081 || { echo "bench-proxy: nginx proxy does not answer"; exit 1; }
probe 18084 || { echo "bench-proxy: nginx proxy (Kong's headers) does not answer"; exit 1; }
probe 18082 || { echo "bench-proxy: kgate does not answer"; cat "$WORK"/kgate-*.log; exit 1; }
if [ "$RELAY_REF" = 1 ]; then probe 18085 || { echo "bench-proxy: kgate-bench-relay does not answer"; exit 1; }; fi
if [ "$PLUGINS" = 1 ]; then
  probe 18083 "apikey: bench-key" || { echo "bench-proxy: kgate+plugins does not answer"; cat "$WORK"/kgate-*.log; exit 1; }
fi

# --- load -------------------------------------------------------------------------------------
run_wrk() { # port duration [extra header] → "rps p99ms"
  local out rps p99 extra=()
  [ -n "${3:-}" ] && extra=(-H "$3")
  [ "$CLOSE" = 1 ] && extra+=(-H "Connection: close")
  out="$(taskset -c "$WRK_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --latency -H 'Host: bench' "${extra[@]}" "http://127.0.0.1:$1/")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")"
  local errors; errors="$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")"
  [ -n "$errors" ] && echo "    ($errors)" >&2
  echo "$rps $p99"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

NAMES=(nginx kgate); PORTS=(18081 18082); HEADERS=("" "")
if [ "$PLUGINS" = 1 ]; then NAMES+=(kgate+plugins); PORTS+=(18083); HEADERS+=("apikey: bench-key"); fi
if [ "$KONG_REF" = 1 ]; then NAMES+=(nginx+kong); PORTS+=(18084); HEADERS+=(""); fi
if [ "$RELAY_REF" = 1 ]; then NAMES+=(nio-relay); PORTS+=(18085); HEADERS+=(""); fi
echo "bench-proxy: $WORKERS worker(s)/event loop(s), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds$([ "$CLOSE" = 1 ] && echo ", Connection: close")$([ "$ACCESS_LOG" = 1 ] && echo ", access logs on")"
echo "bench-proxy: cpus proxy=$PROXY_CPUS upstream=$UPSTREAM_CPUS wrk=$WRK_CPUS; kgate: $BIN"
for i in "${!PORTS[@]}"; do run_wrk "${PORTS[$i]}" 2 "${HEADERS[$i]}" >/dev/null; done
declare -A RPS P99
for round in $(seq 1 "$ROUNDS"); do
  for i in "${!PORTS[@]}"; do
    read -r r p < <(run_wrk "${PORTS[$i]}" "$DURATION" "${HEADERS[$i]}")
    RPS[$i]="${RPS[$i]:-} $r"; P99[$i]="${P99[$i]:-} $p"
    echo "  round $round ${NAMES[$i]}: $r req/s, p99 ${p} ms"
  done
done
echo
printf '%-14s %14s %12s\n' "" "median req/s" "median p99"
MED_RPS=(); MED_P99=()
for i in "${!PORTS[@]}"; do
  MED_RPS[$i]="$(tr ' ' '\n' <<<"${RPS[$i]}" | grep . | median)"
  MED_P99[$i]="$(tr ' ' '\n' <<<"${P99[$i]}" | grep . | median)"
  printf '%-14s %14.0f %10.2f ms\n' "${NAMES[$i]}" "${MED_RPS[$i]}" "${MED_P99[$i]}"
done
awk -v kr="${MED_RPS[1]}" -v nr="${MED_RPS[0]}" -v kp="${MED_P99[1]}" -v np="${MED_P99[0]}" \
  'BEGIN { printf "kgate/nginx: throughput %.2fx, p99 %.2fx (target >= 1.00x, <= 1.00x)\n", kr/nr, kp/np }'
if [ "$PLUGINS" = 1 ]; then
  awk -v pr="${MED_RPS[2]}" -v kr="${MED_RPS[1]}" \
    'BEGIN { printf "key-auth + rate-limiting: throughput %.2fx of kgate without plugins, loss %.1f%% (target <= 15%%)\n", pr/kr, (1-pr/kr)*100 }'
fi
if [ "$KONG_REF" = 1 ]; then
  k="$(( ${#PORTS[@]} - 1 - RELAY_REF ))"
  awk -v kr="${MED_RPS[1]}" -v nr="${MED_RPS[$k]}" -v kp="${MED_P99[1]}" -v np="${MED_P99[$k]}" \
    'BEGIN { printf "kgate/nginx+kong (same header work): throughput %.2fx, p99 %.2fx\n", kr/nr, kp/np }'
fi
if [ "$RELAY_REF" = 1 ]; then
  k="$(( ${#PORTS[@]} - 1 ))"
  awk -v rr="${MED_RPS[$k]}" -v nr="${MED_RPS[0]}" -v rp="${MED_P99[$k]}" -v np="${MED_P99[0]}" -v kr="${MED_RPS[1]}" -v kp="${MED_P99[1]}" \
    'BEGIN { printf "nio-relay/nginx (SwiftNIO channels, no HTTP work): throughput %.2fx, p99 %.2fx\n", rr/nr, rp/np
             printf "kgate/nio-relay (kgate'"'"'s own work): throughput %.2fx, p99 %.2fx\n", kr/rr, kp/rp }'
fi
