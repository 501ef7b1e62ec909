#!/usr/bin/env bash
# test-repeat.sh N [TARGET]: clones the committed HEAD into a scratch
# folder and runs `make TARGET` (default: test) there N times, then reports
# each run's result and wall time and, per test, how many runs it failed
# in. Exit status 1 when any run failed. The clone and the logs live under
# one temp folder that is removed at the end (the logs of failed runs are
# copied to test-repeat-logs/ first).
set -u
n=${1:-5}
target=${2:-test}
top=$(git rev-parse --show-toplevel)
work=$(mktemp -d "${TMPDIR:-/tmp}/phoned-repeat.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
git clone -q --no-hardlinks "$top" "$work/clone"
rev=$(git -C "$work/clone" rev-parse --short HEAD)
echo "test-repeat: make $target, $n runs, on a clean clone of $rev"
failed_runs=0
for i in $(seq 1 "$n"); do
  log="$work/run$i.log"
  start=$(date +%s)
  if (cd "$work/clone" && make "$target") >"$log" 2>&1; then res=ok; else res=FAILED; failed_runs=$((failed_runs+1)); fi
  secs=$(( $(date +%s) - start ))
  printf 'run %d: %s in %dm%02ds\n' "$i" "$res" $((secs/60)) $((secs%60))
  if [ "$res" = FAILED ]; then
    mkdir -p "$top/test-repeat-logs"
    cp "$log" "$top/test-repeat-logs/run$i.log"
    grep -E -- '--- FAIL|^FAIL|panic:|make: \*\*\*' "$log" | head -20 | sed 's/^/    /'
  fi
done
echo "failures per test (runs failed out of $n):"
fails=$(for f in "$work"/run*.log; do grep -oE -- '--- FAIL: [^ ]+' "$f" | sed 's/--- FAIL: //' | sort -u; done | sort | uniq -c | sort -rn)
if [ -z "$fails" ]; then echo "    none"; else echo "$fails" | sed 's/^/    /'; fi
echo "test-repeat: $((n-failed_runs)) passed, $failed_runs failed"
[ "$failed_runs" -eq 0 ]
