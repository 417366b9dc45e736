#!/usr/bin/env bash
# Quick start: build rcpu, start a CPU-backend server on 127.0.0.1, and run an unmodified BLAS
# program (examples/demo_dgemm.c, linked with the system's -lblas) through the shim with the
# automatic policy -- once with n=2048, where dgemm is worth sending to the server, and once with
# n=256, where everything stays local -- then show where each call ran and stop the server.
#   BUILD_DIR=build  QUICKSTART_N=2048  QUICKSTART_SMALL_N=256  (environment overrides)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
N=${QUICKSTART_N:-2048}
SMALL_N=${QUICKSTART_SMALL_N:-256}

bash scripts/setup.sh
cmake -S . -B "$BUILD_DIR" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc 2>/dev/null || echo 2)"

RCPUD="$BUILD_DIR/bin/rcpud"
DEMO="$BUILD_DIR/bin/demo_dgemm"
SHIM_DIR="$BUILD_DIR/lib/rcpu"
for f in "$RCPUD" "$DEMO" "$SHIM_DIR/libblas.so.3"; do
  [ -e "$f" ] || { echo "quickstart: $f was not built" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rcpu-quickstart.XXXXXX")
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
trap 'stop_server; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# A key for this run only: rcpud and the demo prove it to each other (docs/security.md).
echo "== $BUILD_DIR/bin/rcpu keygen --out $WORK/key"
"$BUILD_DIR/bin/rcpu" keygen --out "$WORK/key" | sed 's/^/   /'
export RCPU_KEY_FILE="$WORK/key"
echo "== starting $RCPUD --listen 127.0.0.1:0 --backend cpu (key: RCPU_KEY_FILE)"
"$RCPUD" --listen 127.0.0.1:0 --backend cpu >"$WORK/rcpud.out" 2>"$WORK/rcpud.err" &
SERVER_PID=$!
ADDR=
for _ in $(seq 150); do
  line=$(head -n 1 "$WORK/rcpud.out" 2>/dev/null || true)
  if [[ "$line" =~ ^rcpud\ listening\ on\ ([^ ]+:[0-9]+) ]]; then ADDR=${BASH_REMATCH[1]}; break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.2
done
if [ -z "$ADDR" ]; then
  echo "quickstart: rcpud did not start; its output:" >&2
  cat "$WORK/rcpud.out" "$WORK/rcpud.err" >&2
  exit 1
fi
echo "   $line"

show_trace() {  # show_trace FILE: one row per call, then a count of where calls ran
  python3 - "$1" <<'PY'
import collections, json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def f(v, fmt):  # a number in format fmt, or "-" as wide
    return format(v, fmt) if isinstance(v, (int, float)) else "-".rjust(int(re.match(r"\d*", fmt).group() or 1))
print(f"   {'routine':14s} {'where':6s} {'m':>6s} {'n':>6s} {'k':>6s} {'MB to':>8s} {'MB from':>8s} "
      f"{'t_total s':>9s} {'t_server s':>10s}  why")
for r in rows[:25]:
    mb = lambda key: r[key] / 1e6 if isinstance(r.get(key), (int, float)) else None
    print(f"   {r.get('routine', '?'):14s} {r.get('where', '?'):6s} {f(r.get('m'), '6d')} {f(r.get('n'), '6d')} "
          f"{f(r.get('k'), '6d')} {f(mb('bytes_to_server'), '8.1f')} {f(mb('bytes_from_server'), '8.1f')} "
          f"{f(r.get('t_total_s'), '9.4f')} {f(r.get('t_on_server_s'), '10.4f')}  {r.get('why', '')}")
if len(rows) > 25:
    print(f"   ... {len(rows) - 25} more lines")
c = collections.Counter((r.get("routine"), r.get("where")) for r in rows)
print("   where each routine ran: " + ", ".join(f"{k[0]} {k[1]} x{v}" for k, v in sorted(c.items())))
PY
}

run_demo() {  # run_demo N
  local n=$1 trace="$WORK/trace-$1.jsonl" rc=0
  echo
  echo "== RCPU_POLICY=auto RCPU_STATS=1 RCPU_SERVER=$ADDR LD_LIBRARY_PATH=$SHIM_DIR $DEMO $n"
  RCPU_SERVER="$ADDR" RCPU_POLICY=auto RCPU_STATS=1 RCPU_TRACE="$trace" \
    LD_LIBRARY_PATH="$SHIM_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$DEMO" "$n" || rc=$?
  echo "-- trace $trace ($(wc -l <"$trace" 2>/dev/null || echo 0) calls):"
  if [ -s "$trace" ]; then show_trace "$trace" || true; else echo "   (empty: was the shim loaded?)"; fi
  if [ $rc -ne 0 ]; then echo "   demo_dgemm exited with status $rc" >&2; fi
  return $rc
}

status=0
run_demo "$N" || status=1
run_demo "$SMALL_N" || status=1
echo
echo "== stopping rcpud"
stop_server
if [ $status -ne 0 ]; then echo "quickstart: FAILED" >&2; fi
exit $status
