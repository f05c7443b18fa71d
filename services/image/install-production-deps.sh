#!/bin/sh
# Installs the production dependencies of one service workspace into the current folder, which holds the
# root package.json, package-lock.json and every workspace's package.json (no sources, no node_modules).
#
#   sh services/image/install-production-deps.sh gateway|product|order
#
# Run by the Dockerfile's production-deps stage, and by test/k8s/image.test.ts on this machine (no Docker
# here), so the image and its test resolve dependencies with the very same command.
# - `npm ci`: exactly the lockfile; fails if package.json and package-lock.json disagree.
# - `--workspace`: only this service's dependency tree plus its workspace dependency @eshop/common
#   (a symlink node_modules/@eshop/common -> services/common); the other services' packages stay out.
# - `--omit=dev`: no devDependencies (jest, typescript, @types used only by our code, the `node` binary package).
# - `--ignore-scripts`: no install scripts run; no production dependency needs one today, and the test
#   starts every entry point from the result, so a package that starts needing one fails there first.
# Extra npm settings come from the environment (npm_config_*), e.g. npm_config_prefer_offline=true in the test.
set -eu

service=${1:-}
case $service in
  gateway | product | order) ;;
  *)
    echo "install-production-deps.sh: expected gateway, product or order, got '$service'" >&2
    exit 64
    ;;
esac

npm ci --workspace="services/$service" --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
