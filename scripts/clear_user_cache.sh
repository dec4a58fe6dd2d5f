#!/usr/bin/env bash
# The old runbook entry point, kept by name and verbs; the work is done by `npm run cache`
# (src/cli/cache.cli.ts), which validates every argument, prints its help (--help) and never
# touches session keys. Options go before or after the verb.
#
#   scripts/clear_user_cache.sh all [--scope appUsers|oaUsers|devices|all]
#   scripts/clear_user_cache.sh phone PHONE
#   scripts/clear_user_cache.sh id ID [--scope appUsers|oaUsers|all]
#   scripts/clear_user_cache.sh list [--scope S] [--cursor C] [--count N]
#   scripts/clear_user_cache.sh test
#   scripts/clear_user_cache.sh audit [--scope S] [--repair]
#   scripts/clear_user_cache.sh --json VERB ...   (one line of JSON, for scripts; --json may also follow the verb)
#   scripts/clear_user_cache.sh --help | help [VERB]   (every verb, or one, on stdout)
#
# Redis from REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD (and DB_* for audit).
# Exit status: 0 success, 1 failure (e.g. Redis unreachable), 2 usage error.
set -euo pipefail

exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run-cli.sh" cache "$@"
