#!/bin/sh
# The long crash run: many kill -9 rounds against the storage layer (default 200).
# usage: test/storage/crash-long.sh [rounds] [seed]
cd "$(dirname "$0")/../.." || exit 1
ZGATE_CRASH_ROUNDS="${1:-200}" ZGATE_CRASH_SEED="${2:-$(date +%s)}" \
  npx jest test/storage/storage-process.test.ts -t 'kill -9' --testTimeout=3600000
