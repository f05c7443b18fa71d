#!/usr/bin/env bash
# Render one CI scenario of a hand-written chart offline and print the manifests to stdout.
#
#   charts/render-ci.sh <chart-dir> <scenario>        e.g. charts/render-ci.sh charts/eshop-platform kind
#   charts/render-ci.sh <chart-dir> <scenario> --lint  also run `helm lint --strict` with the same values
#
# <scenario> names <chart-dir>/ci/<scenario>-values.yaml. Its header line `# ci-base: <file>` names the
# environment values file it refines (or `none`), so the command is:
#   helm template eshop-platform <copy> -n eshop [-f <chart-dir>/<base>] -f <chart-dir>/ci/<scenario>-values.yaml
# Dependencies cannot be downloaded here: charts/stub-dependencies.sh copies the chart to a temp dir and gives
# every dependency in Chart.yaml a stub subchart (Chart.yaml only, same name and version), which renders nothing.
# Dependency conditions therefore do not matter for rendering and stay as the scenario sets them.
# Env: HELM (default: repo .local/tools/bin/helm, else `helm`), RELEASE (eshop-platform), NAMESPACE (eshop),
# KUBE_VERSION (1.36.0, the version of the pinned OpenAPI schemas).
set -euo pipefail

chart=${1:?usage: render-ci.sh <chart-dir> <scenario> [--lint]}
scenario=${2:?usage: render-ci.sh <chart-dir> <scenario> [--lint]}
mode=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
helm=${HELM:-$here/../.local/tools/bin/helm}
[ -x "$helm" ] || helm=$(command -v helm)
release=${RELEASE:-eshop-platform}
namespace=${NAMESPACE:-eshop}

chart=$(cd "$chart" && pwd)
ci_file=$chart/ci/$scenario-values.yaml
[ -f "$ci_file" ] || { echo "render-ci.sh: no $ci_file" >&2; exit 2; }
base=$(sed -n 's/^# ci-base: *\([^ ]*\).*/\1/p' "$ci_file" | head -n1)
[ -n "$base" ] || { echo "render-ci.sh: $ci_file has no '# ci-base: <file|none>' header line" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HELM_CACHE_HOME=$work/helm/cache HELM_CONFIG_HOME=$work/helm/config HELM_DATA_HOME=$work/helm/data
bash "$here/stub-dependencies.sh" "$chart" "$work"
copy=$work/$(basename "$chart")

values=()
[ "$base" != none ] && values+=(-f "$chart/$base")
values+=(-f "$ci_file")

if [ "$mode" = --lint ]; then
  "$helm" lint --strict "$copy" --namespace "$namespace" "${values[@]}" >&2
fi
"$helm" template "$release" "$copy" --namespace "$namespace" --kube-version "${KUBE_VERSION:-1.36.0}" "${values[@]}"
