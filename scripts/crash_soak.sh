#!/usr/bin/env bash
# A longer run of the kill -9 test than `make test` does (50 cycles there):
# kills the real dispatchd at random moments while clients submit, accept
# and complete, and checks after every restart that nothing acknowledged
# was lost and that the live digest equals a replay of the journal.
#
#   scripts/crash_soak.sh [cycles]     (default 1000; build first: make test)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DISPATCHD_CRASH_CYCLES="${1:-1000}" exec build/tests/services/services_tests \
  --gtest_filter='CrashTest.*'
