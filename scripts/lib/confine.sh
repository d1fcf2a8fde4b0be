# Sourced by scripts/test --flake-hunt: runs processes as a slower machine would. Every process is pinned to CPU
# core 0; as root, they also share a cgroup whose CPU quota is FLAKE_HUNT_CPU_PERCENT (default 33) of that core
# (cgroup v1 `cpu`, or v2 `cpu.max`), as `scripts/bench --cold` confines a function to a Lambda-sized share.
hunt_cgroup=""

setup_confinement() {
  local percent="${FLAKE_HUNT_CPU_PERCENT:-33}" group="switchyard-flake-hunt-$$"
  [ "$(id -u)" = 0 ] || { echo "confinement: one core (not root: no CPU quota)"; return 0; }
  if [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
    hunt_cgroup="/sys/fs/cgroup/cpu/$group"
    mkdir -p "$hunt_cgroup"
    echo 100000 >"$hunt_cgroup/cpu.cfs_period_us"
    echo $((percent * 1000)) >"$hunt_cgroup/cpu.cfs_quota_us"
  elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
    hunt_cgroup="/sys/fs/cgroup/$group"
    mkdir -p "$hunt_cgroup"
    echo "$((percent * 1000)) 100000" >"$hunt_cgroup/cpu.max"
  fi
  if [ -n "$hunt_cgroup" ]; then
    echo "confinement: one core, ${percent}% of it (cgroup $hunt_cgroup)"
  else
    echo "confinement: one core (no cgroup CPU controller found)"
  fi
}

# confine PID...: pins running processes to core 0 and puts them in the quota group.
confine() {
  local pid
  for pid in "$@"; do
    taskset -pc 0 "$pid" >/dev/null
    [ -z "$hunt_cgroup" ] || echo "$pid" >"$hunt_cgroup/cgroup.procs"
  done
}

# confined COMMAND...: runs a command confined (its children inherit it).
confined() {
  (
    confine "$BASHPID"
    exec "$@"
  )
}

# Removes the quota group once nothing runs in it.
release_confinement() {
  [ -z "$hunt_cgroup" ] || rmdir "$hunt_cgroup" 2>/dev/null || true
}
