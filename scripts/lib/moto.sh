# Sourced by scripts/test and scripts/bench: starts moto_server from .venv on a free loopback port, exports
# MOTO_ENDPOINT, and stops it when the calling script exits.
start_moto() {
  mkdir -p target
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  moto_server -H 127.0.0.1 -p "$port" >target/moto.log 2>&1 &
  moto_pid=$!
  trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true' EXIT
  # Readiness: poll moto's own API until it answers (bounded), instead of guessing a start-up time.
  python3 - "$port" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/data.json", timeout=2)
        break
    except Exception:
        if time.monotonic() > deadline:
            sys.exit("moto_server did not start; see target/moto.log")
        time.sleep(0.2)
PY
  export MOTO_ENDPOINT="http://127.0.0.1:$port"
  echo "moto_server at $MOTO_ENDPOINT"
}
