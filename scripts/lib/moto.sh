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

# Puts the recording proxy (testkit's aws-recorder) in front of moto: every AWS call of the suite is appended to
# target/aws-calls.jsonl for the IAM contract test, and MOTO_ENDPOINT then names the proxy.
start_aws_recorder() {
  local calls=target/aws-calls.jsonl
  rm -f "$calls" target/aws-recorder.address
  cargo build --quiet -p testkit --bin aws-recorder
  target/debug/aws-recorder "$MOTO_ENDPOINT" "$calls" >target/aws-recorder.address 2>target/aws-recorder.log &
  recorder_pid=$!
  trap 'kill "$moto_pid" "$recorder_pid" 2>/dev/null || true; wait "$moto_pid" "$recorder_pid" 2>/dev/null || true' EXIT
  # Readiness: it prints its address once it listens.
  local waited=0
  until [ -s target/aws-recorder.address ]; do
    kill -0 "$recorder_pid" 2>/dev/null || { cat target/aws-recorder.log >&2; echo "aws-recorder exited" >&2; return 1; }
    [ "$waited" -lt 300 ] || { echo "aws-recorder did not start" >&2; return 1; }
    sleep 0.1
    waited=$((waited + 1))
  done
  export MOTO_DIRECT_ENDPOINT="$MOTO_ENDPOINT"
  MOTO_ENDPOINT=$(head -n1 target/aws-recorder.address)
  export MOTO_ENDPOINT SWITCHYARD_AWS_CALLS="$PWD/$calls"
  echo "aws-recorder at $MOTO_ENDPOINT (calls in $calls)"
}
