#!/usr/bin/env bash
# The old runbook entry point, kept by name and verbs; the work is done by `npm run cache`
# (src/cli/cache.cli.ts), which validates every argument and never touches session keys.
#
#   scripts/clear_user_cache.sh all [--scope appUsers|oaUsers|devices|all]
#   scripts/clear_user_cache.sh phone PHONE
#   scripts/clear_user_cache.sh id ID [--scope appUsers|oaUsers|all]
#   scripts/clear_user_cache.sh list [--scope S] [--cursor C] [--count N]
#   scripts/clear_user_cache.sh test
#   scripts/clear_user_cache.sh audit [--scope S] [--repair]
#
# Redis from REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD (and DB_* for audit).
# Exit status: 0 success, 1 failure (e.g. Redis unreachable), 2 usage error.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  echo "usage: $(basename "$0") all|phone PHONE|id ID|list|test|audit [options]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
case "$1" in
  all | phone | id | list | test | audit) ;;
  -h | --help | help) usage ;;
  *) echo "unknown verb: $1" >&2; usage ;;
esac

exec "$root/scripts/run-cli.sh" cache "$@"
