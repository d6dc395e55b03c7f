#!/usr/bin/env bash
# `make bench-proxy`: kgate's proxy against nginx's reverse proxy, side by side on this machine.
#
#   upstream  nginx (1 worker) answering "hello world\n"       127.0.0.1:18080
#   reference nginx proxy_pass + upstream keepalive (WORKERS)   127.0.0.1:18081
#   gateway   kgate, release build, the same kong.yml route     127.0.0.1:18082
#
# wrk runs against the reference and the gateway in alternation (A B A B ...), ROUNDS times,
# after a warm-up of each; the script prints the median requests/s and p99 of each and the
# kgate/nginx ratios. Everything listens on 127.0.0.1 only and every run is bounded.
#
# Knobs (environment): WORKERS (worker processes = kgate event loops, default 1),
# DURATION (s per run, 10), ROUNDS (5), CONNECTIONS (50), THREADS (wrk threads, 1),
# PROXY_CPUS / UPSTREAM_CPUS / WRK_CPUS (taskset lists: 1 / 1 / 0 on 2 cores),
# KGATE_RUNNER (auto | cli | bench-server: how kgate is started; auto prefers `kgate start`),
# KGATE_BIN (a prebuilt kgate executable for `kgate start`, skipping the release build of the package).
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
KGATE_RUNNER="${KGATE_RUNNER:-auto}"
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

probe() { # port → 0 when a proxied request answers 200 with the upstream's body
  local out
  out="$(exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n' >&3 && timeout 2 cat <&3)" || return 1
  [[ "$out" == *"200 OK"* && "$out" == *"hello world"* ]]
}

# --- upstream and reference proxy -------------------------------------------------------------
sed "s#@DIR@#$WORK#g" "$HERE/upstream.conf" > "$WORK/upstream.conf"
sed -e "s#@DIR@#$WORK#g" -e "s#@WORKERS@#$WORKERS#g" "$HERE/proxy.conf" > "$WORK/proxy.conf"
taskset -c "$UPSTREAM_CPUS" "$NGINX" -p "$WORK" -c "$WORK/upstream.conf" & PIDS+=($!)
taskset -c "$PROXY_CPUS" "$NGINX" -p "$WORK" -c "$WORK/proxy.conf" & PIDS+=($!)
wait_port 18080 && wait_port 18081 || { echo "bench-proxy: nginx did not start"; cat "$WORK"/*.log; exit 1; }

# --- kgate ------------------------------------------------------------------------------------
start_cli() { # → 0 when `kgate start` serves the benchmark route
  local bin="${KGATE_BIN:-}"
  if [ -z "$bin" ]; then
    (cd "$ROOT" && swift build -c release --product kgate >/dev/null 2>"$WORK/build.log") || return 1
    bin="$ROOT/.build/release/kgate"
  fi
  KONG_PREFIX="$WORK/kgate" KONG_NGINX_WORKER_PROCESSES="$WORKERS" KONG_LOG_LEVEL=warn \
    KONG_PROXY_LISTEN="127.0.0.1:18082 reuseport backlog=16384" KONG_ADMIN_LISTEN=off KONG_STATUS_LISTEN=off \
    KONG_DECLARATIVE_CONFIG="$HERE/kong.yml" KONG_DECLARATIVE_CONFIG_WATCH=off \
    taskset -c "$PROXY_CPUS" "$bin" start > "$WORK/kgate.log" 2>&1 & PIDS+=($!)
  KGATE_PID=$!
  if wait_port 18082 && probe 18082; then return 0; fi
  kill "$KGATE_PID" 2>/dev/null || true
  wait "$KGATE_PID" 2>/dev/null || true
  return 1
}
start_bench_server() {
  # Until `kgate start` serves the proxy: the same ProxyServer in a release executable of its own
  # (Benchmarks/ProxyBench/Package.swift), loading the same kong.yml.
  swift build -c release --package-path "$HERE" >/dev/null
  taskset -c "$PROXY_CPUS" "$HERE/.build/release/ProxyBenchServer" "$HERE/kong.yml" 127.0.0.1:18082 "$WORKERS" \
    > "$WORK/kgate.log" 2>&1 & PIDS+=($!)
  KGATE_PID=$!
  wait_port 18082
}
runner="$KGATE_RUNNER"
case "$runner" in
  cli) start_cli || { echo "bench-proxy: kgate start does not serve the proxy"; cat "$WORK"/*.log; exit 1; } ;;
  bench-server) start_bench_server || { echo "bench-proxy: kgate did not start"; cat "$WORK/kgate.log"; exit 1; } ;;
  *)
    if start_cli; then runner=cli; else
      runner=bench-server
      start_bench_server || { echo "bench-proxy: kgate did not start"; cat "$WORK/kgate.log"; exit 1; }
    fi ;;
esac
probe 18081 || { echo "bench-proxy: nginx proxy does not answer"; exit 1; }
probe 18082 || { echo "bench-proxy: kgate does not answer"; cat "$WORK/kgate.log"; exit 1; }

# --- load -------------------------------------------------------------------------------------
run_wrk() { # port duration → "rps p99ms"
  local out rps p99
  out="$(taskset -c "$WRK_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --latency -H 'Host: bench' "http://127.0.0.1:$1/")"
  rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")"
  local errors; errors="$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")"
  [ -n "$errors" ] && echo "    ($errors)" >&2
  echo "$rps $p99"
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "bench-proxy: $WORKERS worker(s)/event loop(s), wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds"
echo "bench-proxy: cpus proxy=$PROXY_CPUS upstream=$UPSTREAM_CPUS wrk=$WRK_CPUS; kgate via $runner"
run_wrk 18081 2 >/dev/null; run_wrk 18082 2 >/dev/null
NGINX_RPS=(); NGINX_P99=(); KGATE_RPS=(); KGATE_P99=()
for round in $(seq 1 "$ROUNDS"); do
  read -r r p < <(run_wrk 18081 "$DURATION"); NGINX_RPS+=("$r"); NGINX_P99+=("$p")
  echo "  round $round nginx: $r req/s, p99 ${p} ms"
  read -r r p < <(run_wrk 18082 "$DURATION"); KGATE_RPS+=("$r"); KGATE_P99+=("$p")
  echo "  round $round kgate: $r req/s, p99 ${p} ms"
done
n_rps="$(printf '%s\n' "${NGINX_RPS[@]}" | median)"; n_p99="$(printf '%s\n' "${NGINX_P99[@]}" | median)"
k_rps="$(printf '%s\n' "${KGATE_RPS[@]}" | median)"; k_p99="$(printf '%s\n' "${KGATE_P99[@]}" | median)"
echo
printf '%-8s %14s %12s\n' "" "median req/s" "median p99"
printf '%-8s %14.0f %10.2f ms\n' nginx "$n_rps" "$n_p99"
printf '%-8s %14.0f %10.2f ms\n' kgate "$k_rps" "$k_p99"
awk -v kr="$k_rps" -v nr="$n_rps" -v kp="$k_p99" -v np="$n_p99" \
  'BEGIN { printf "kgate/nginx: throughput %.2fx, p99 %.2fx\n", kr/nr, kp/np }'
