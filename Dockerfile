# syntax=docker/dockerfile:1
#
# One Dockerfile, one image per service (eshop/gateway, eshop/product, eshop/order):
#
#   docker build --build-arg SERVICE=gateway --build-arg PORT=8080 -t eshop/gateway:0.1.0 .
#   docker build --build-arg SERVICE=product --build-arg PORT=8081 -t eshop/product:0.1.0 .
#   docker build --build-arg SERVICE=order   --build-arg PORT=8082 -t eshop/order:0.1.0 .
#
# skaffold.yaml passes the same build args. The order image runs the order API by default and, with the
# container's args overridden, the order consumers (node dist/consumer.js, port 8083) and the DLQ replay tool
# (node dist/tools/replay-dlq.js). The product and order images carry dist/migrate.js (init container).
#
# There is no Docker engine on the project's CI machines: test/k8s/image.test.ts replays these stages in a
# temp folder (context filtered by .dockerignore, the same COPYs, the same tsc build, the same production
# install script) and starts every entry point from the result with production dependencies only.
#
# Signals. Kubernetes stops a container with SIGTERM to PID 1, then SIGKILL after the grace period. The
# services handle SIGTERM/SIGINT themselves (services/common/src/lifecycle.ts, runMain: /readyz fails,
# SHUTDOWN_DELAY_MS, ordered drain, exit 0) and start no child processes (no child_process, cluster or
# worker_threads in services/*/src; pino logs to stdout in-process). But runMain installs its handlers only
# after start() resolves, and migrate.js installs none. The kernel delivers to PID 1 only the signals it has a
# handler for (pid_namespaces(7)), so as PID 1 node ignored a SIGTERM that came during start-up (waiting for
# the database or Kafka, or for the migration lock) until SIGKILL. Checked with `unshare --pid --fork`: node
# as PID 1 without a handler survives SIGTERM; with runMain's handler it drains and exits 0. Hence tini as
# PID 1: it forwards SIGTERM/SIGINT to node (PID 2), whose default is to exit at once before runMain's handlers
# exist and to drain after; tini also reaps zombies should a dependency ever fork.
# In Kubernetes, override `args` (which replaces CMD), never `command` (which would replace tini).

# The project's Node (root package.json devDependency `node`), as a full version: never a floating tag.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---------------------------------------------------------------------------------------------- build
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first: this layer and `npm ci` are shared by the three images and redone only when a
# dependency changes. Every workspace's package.json, so npm ci can check them against the lockfile.
COPY package.json package-lock.json ./
COPY services/common/package.json services/common/
COPY services/product/package.json services/product/
COPY services/order/package.json services/order/
COPY services/gateway/package.json services/gateway/
COPY cdk8s/package.json cdk8s/
# --ignore-scripts: the devDependency `node` would download a second Node binary; tsc needs no scripts.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.base.json ./
COPY services/common/ services/common/
# tsc through the image's node: `npx tsc` would put node_modules/.bin first, where `node` is the
# devDependency whose binary --ignore-scripts left out. @eshop/common compiles here, in a layer the three
# images share; `tsc -b` below finds it up to date and compiles only the service.
RUN node node_modules/typescript/bin/tsc -b services/common
ARG SERVICE
ARG PORT
COPY services/${SERVICE}/ services/${SERVICE}/
RUN case "${SERVICE}:${PORT}" in \
      gateway:8080 | product:8081 | order:8082) ;; \
      *) echo "build args: SERVICE=gateway|product|order with its PORT 8080|8081|8082 (got SERVICE='${SERVICE}' PORT='${PORT}')" >&2; exit 1 ;; \
    esac \
 && node node_modules/typescript/bin/tsc -b "services/${SERVICE}"

# ------------------------------------------------------------------------------------ production-deps
FROM ${NODE_IMAGE} AS production-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY services/common/package.json services/common/
COPY services/product/package.json services/product/
COPY services/order/package.json services/order/
COPY services/gateway/package.json services/gateway/
COPY cdk8s/package.json cdk8s/
COPY services/image/install-production-deps.sh services/image/
ARG SERVICE
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    sh services/image/install-production-deps.sh "${SERVICE}"

# ------------------------------------------------------------------------------------------- runtime
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 (see "Signals" above). npm, npx and corepack go: nothing runs them at run time, and
# they would bring their own dependencies (and CVEs) into every image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/* \
    /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
# kafkajs 2.2.4 trips Node 24's harmless TimeoutNegativeWarning (kafkajs#1751): keep stderr for real errors.
ENV NODE_ENV=production \
    NODE_OPTIONS=--disable-warning=TimeoutNegativeWarning
ARG SERVICE
ARG PORT
# Only what runs: the production node_modules (its @eshop/* entries are symlinks into services/), the two
# workspaces' manifests and compiled code; no lockfile, no install script, no other service. Owned by
# root, read-only for the service user: the process cannot change its own code.
COPY --from=production-deps /app/node_modules/ /app/node_modules/
COPY --from=production-deps /app/services/common/package.json /app/services/common/
COPY --from=production-deps /app/services/${SERVICE}/ /app/services/${SERVICE}/
COPY --from=build /src/services/common/dist/ /app/services/common/dist/
COPY --from=build /src/services/${SERVICE}/dist/ /app/services/${SERVICE}/dist/
WORKDIR /app/services/${SERVICE}
# The base image's `node` user, numeric so that Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE ${PORT}
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
