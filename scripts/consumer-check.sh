#!/usr/bin/env bash
# Installs the package the way a user does and checks it from outside the repository:
#   builds, `npm pack`s into a temp dir, creates a fresh consumer project there (type module; tsconfig
#   strict, module nodenext, skipLibCheck false) that depends on the tarball and, as its own dev
#   dependencies, on typescript and vitest from the registry (same ranges as ours), then
#   1. lists the tarball: no source maps (dist/ only, no src/ to point at), LICENSE and README present;
#   2. `tsc --noEmit` over a file importing the public API, a CommonJS (.cts) one and the test below;
#   3. `require()` and `import()` of the package from plain Node, and the `gtt` bin's --help;
#   4. vitest: two peers join a topic through createTestnet on 127.0.0.1 and deliver a message, and
#      two createNode nodes deliver on two topics.
# The consumer's files are the templates in test/consumer/. Exits non-zero on the first failure; every
# step is bounded by `timeout`; the temp dir is removed on exit. Usage: bash scripts/consumer-check.sh
# (set KEEP_CONSUMER=1 to keep the temp dir for a look).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

WORK=$(mktemp -d "${TMPDIR:-/tmp}/gtt-consumer.XXXXXX")
cleanup() {
  if [ "${KEEP_CONSUMER:-}" = 1 ]; then echo "consumer-check: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

START=$SECONDS
step() { echo "consumer-check: [$((SECONDS - START)) s] $*"; }

step "build"
timeout 300 npm run build --silent

step "pack"
# Already built: skip prepack's second build.
TARBALL=$(timeout 120 npm pack --ignore-scripts --silent --pack-destination "$WORK" | tail -n 1)
TARBALL="$WORK/$TARBALL"
[ -f "$TARBALL" ] || { echo "consumer-check: npm pack wrote no tarball" >&2; exit 1; }
CONTENTS=$(tar -tzf "$TARBALL")
if grep -E '\.map$' <<<"$CONTENTS"; then echo "consumer-check: the tarball ships source maps" >&2; exit 1; fi
for f in package/LICENSE package/README.md package/dist/index.js package/dist/index.d.ts \
  package/dist/records.js package/dist/dht.js package/dist/gossip.js package/dist/testing.js; do
  grep -qx "$f" <<<"$CONTENTS" || { echo "consumer-check: the tarball lacks $f" >&2; exit 1; }
done
echo "consumer-check: $(basename "$TARBALL"): $(wc -l <<<"$CONTENTS") files, $(du -k "$TARBALL" | cut -f1) KiB"

step "consumer project"
APP="$WORK/app"
mkdir -p "$APP/src" "$APP/test"
cp test/consumer/api.ts.tmpl "$APP/src/api.ts"
cp test/consumer/require.cts.tmpl "$APP/src/require.cts"
cp test/consumer/deliver.test.ts.tmpl "$APP/test/deliver.test.ts"
TS_RANGE=$(node -p "require('./package.json').devDependencies.typescript")
VITEST_RANGE=$(node -p "require('./package.json').devDependencies.vitest")
cat >"$APP/package.json" <<EOF
{
  "name": "gtt-consumer-check",
  "private": true,
  "type": "module",
  "dependencies": { "gossip-topic-tracker": "file:$TARBALL" },
  "devDependencies": { "typescript": "$TS_RANGE", "vitest": "$VITEST_RANGE" }
}
EOF
# A strict consumer: nodenext resolution through the exports map, and every .d.ts checked.
cat >"$APP/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "skipLibCheck": false,
    "noEmit": true
  },
  "include": ["src", "test"]
}
EOF
cd "$APP"

step "npm install (tarball + typescript $TS_RANGE + vitest $VITEST_RANGE)"
timeout 240 npm install --no-audit --no-fund --prefer-offline --loglevel=error

step "tsc --noEmit (strict, nodenext, skipLibCheck false; src and test)"
timeout 120 npx --no-install tsc --noEmit -p tsconfig.json

step "require() and import() from Node $(node --version)"
# Each entry point and what it must export; the root must not export the layers' internals.
EXPORTS="{
  'gossip-topic-tracker': ['createNode', 'TopicNode', 'joinTopic', 'discoverPeers', 'createTestnet', 'GttError', 'TopicId'],
  'gossip-topic-tracker/records': ['TopicId', 'keyPairFromSeed', 'sealRecord', 'openRecord', 'RecordStore', 'nativeSuite'],
  'gossip-topic-tracker/dht': ['Dht', 'createTestnet'],
  'gossip-topic-tracker/gossip': ['Gossip', 'Topic'],
  'gossip-topic-tracker/testing': ['createTestnet', 'manualClock', 'scaledClock'],
}"
NOT_ROOT="['Gossip', 'Dht', 'RecordStore', 'Tracker', 'parseTrackerConfig', 'TrackerConfigSchema', 'kCrash', 'kKeyPair']"
timeout 30 node -e "
  for (const [name, names] of Object.entries($EXPORTS)) {
    const m = require(name);
    for (const f of names) if (m[f] === undefined) throw new Error('require: ' + name + ' has no export ' + f);
  }
  const root = require('gossip-topic-tracker');
  for (const f of $NOT_ROOT) if (f in root) throw new Error('require: the root exports ' + f);
"
timeout 30 node --input-type=module -e "
  for (const [name, names] of Object.entries($EXPORTS)) {
    const m = await import(name);
    for (const f of names) if (m[f] === undefined) throw new Error('import: ' + name + ' has no export ' + f);
  }
"
timeout 30 ./node_modules/.bin/gtt --help >/dev/null

step "vitest: two peers on a loopback testnet"
timeout 120 npx --no-install vitest run --root "$APP" --dir test

cd "$ROOT"
step "ok"
