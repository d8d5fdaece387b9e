#!/usr/bin/env bash
# Entry point of the npm scripts: installs what is missing, then runs the command with Node 22+.
#   scripts/run.sh test|start|bench|<any command>
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source "$root/scripts/toolchain.sh"

ensure_debian_packages
ensure_node
ensure_npm_deps "$root"
ensure_synapse
ensure_whisper_server "$root"
ensure_livekit
ensure_silero_vad
ensure_english_speech
locate_postgres
flock -u 9

export PATH="$root/node_modules/.bin:$PATH"
case "${1:-}" in
  # One test bed per machine: a second run waits rather than tear the first one's namespaces down.
  test)  shift; tsc --noEmit -p . && eslint . && exec flock /tmp/visio-testbed.lock mocha "$@" ;;
  start) shift; exec node scripts/demo.ts "$@" ;;
  bench) shift; exec node scripts/bench.ts "$@" ;;
  *)     exec "$@" ;;
esac
