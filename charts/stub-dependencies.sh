#!/usr/bin/env bash
# Copy a chart and give every dependency in its Chart.yaml a stub subchart (Chart.yaml only: same name and
# version, renders nothing). The operator charts cannot be downloaded here (no chart repositories), so CI
# renders (charts/render-ci.sh) and installs (local/cluster.sh deploy) the chart with these stubs.
#
#   charts/stub-dependencies.sh <chart-dir> <dest-dir>     writes <dest-dir>/<chart name>/
set -euo pipefail

chart=${1:?usage: stub-dependencies.sh <chart-dir> <dest-dir>}
dest=${2:?usage: stub-dependencies.sh <chart-dir> <dest-dir>}
chart=$(cd "$chart" && pwd)
mkdir -p "$dest"
copy=$dest/$(basename "$chart")
rm -rf "$copy"
cp -R "$chart" "$copy"
rm -rf "$copy/charts" "$copy/Chart.lock"
mkdir -p "$copy/charts"

# One stub per dependency: `name` (the chart name, not the alias) and `version` from Chart.yaml.
awk '
  /^dependencies:/ { in_deps = 1; next }
  in_deps && /^[^ #-]/ { in_deps = 0 }
  in_deps && /^  - name:/ { if (name != "") print name, version; name = $3; version = "" }
  in_deps && /^    version:/ { version = $2 }
  END { if (name != "") print name, version }
' "$copy/Chart.yaml" | while read -r name version; do
  mkdir -p "$copy/charts/$name"
  printf 'apiVersion: v2\nname: %s\nversion: %s\ntype: application\n' "$name" "$version" > "$copy/charts/$name/Chart.yaml"
done
