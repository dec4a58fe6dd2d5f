#!/usr/bin/env bash
# Runs one of hi-server's operator commands (src/cli/NAME.cli.ts): the build when there is one,
# else the TypeScript source, so a fresh checkout works without `npm run build`.
# HI_CLI overrides the command line (tests use it to run the source). Arguments, output and exit
# status pass through untouched (exec): --help on stdout with 0, refusals on stderr with 2.
#   scripts/run-cli.sh cache|admin [args...]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
name="${1:-}"
case "$name" in
  cache | admin) shift ;;
  *)
    echo "usage: scripts/run-cli.sh cache|admin [args...] (npm run cache / npm run admin)" >&2
    exit 2
    ;;
esac

if [ -n "${HI_CLI:-}" ]; then
  read -r -a cli <<<"$HI_CLI"
elif [ -f "$root/dist/cli/$name.cli.js" ]; then
  cli=(node "$root/dist/cli/$name.cli.js")
elif [ -d "$root/node_modules/ts-node" ]; then
  cd "$root"
  cli=(node -r ts-node/register/transpile-only "$root/src/cli/$name.cli.ts")
else
  echo "hi-server is not built: run 'npm run build' in $root first" >&2
  exit 1
fi

exec "${cli[@]}" "$@"
