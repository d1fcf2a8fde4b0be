"""Criterion's console output (stdin) as a Markdown table: benchmark, median time, median throughput."""
import re
import sys

lines = sys.stdin.read().splitlines()
rows, seen, name = [], set(), None
interval = re.compile(r"\[(\S+ \S+) (\S+ \S+) (\S+ \S+)\]")
for i, line in enumerate(lines):
    m = re.match(r"^([a-z_]+/[A-Za-z0-9_/]+)\s*(time:.*)?$", line)
    if m:
        name = m.group(1)
        if not m.group(2):
            continue
        line = m.group(2)
    if name and "time:" in line and name not in seen:
        time = interval.search(line).group(2)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        thrpt = interval.search(nxt).group(2) if "thrpt:" in nxt else ""
        rows.append(f"| `{name}` | {time} | {thrpt} |")
        seen.add(name)
print("| benchmark | time (median) | throughput |")
print("|---|---|---|")
print("\n".join(rows))
