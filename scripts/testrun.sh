#!/usr/bin/env bash
# testrun.sh CMD...: runs a test command with a private TMPDIR and, however
# it ends (passed, failed, interrupted with Ctrl-C, terminated), ends every
# process whose command line names that directory (the peers the tests
# started: Kamailio, baresip, SIPp, dumpcap, PulseAudio, phoned, and the
# test binaries themselves, all run from files under it) and removes it.
# So an interrupted `make test` leaves nothing in ps or /tmp.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/phoned-test.XXXXXX")
cleanup() {
  trap - EXIT INT TERM HUP
  # Twice: a peer's children may have been forking while the first went.
  for _ in 1 2; do pkill -KILL -f -- "$dir" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM HUP
TMPDIR=$dir "$@" &
wait $!
