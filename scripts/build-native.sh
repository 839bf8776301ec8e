#!/usr/bin/env bash
# Builds the native addons under native/ with the node-gyp that ships with npm, against node's own
# headers when they are installed (no download). An addon that cannot be built is reported, not fatal:
# the proxy runs without it (see src/util/shared-memory.ts for what is lost).
set -uo pipefail
cd "$(dirname "$0")/.."

npm_dir=$(dirname "$(readlink -f "$(command -v npm)")")/..
node_gyp="$npm_dir/node_modules/node-gyp/bin/node-gyp.js"
node_prefix=$(node -p 'require("path").resolve(process.execPath, "../..")')
gyp_args=(--loglevel=warn)
[[ -f "$node_prefix/include/node/node_api.h" ]] && gyp_args+=(--nodedir="$node_prefix")

for dir in native/*/; do
  name=$(basename "$dir")
  out="$dir/build/Release/${name//-/_}.node"
  if [[ -f "$out" ]] && [[ -z $(find "$dir" -maxdepth 1 -newer "$out" -type f) ]]; then continue; fi
  echo "build-native: building $name"
  if ! node "$node_gyp" rebuild --directory "$dir" "${gyp_args[@]}" >"$dir/build.log" 2>&1; then
    echo "build-native: could not build $name (see $dir/build.log); the proxy runs without it" >&2
    continue
  fi
  rm -f "$dir/build.log"
done
