# syntax=docker/dockerfile:1
# The bayes-serve image: runs any `bayes-serve` subcommand (`train`, `deploy …`), `serve` by default.
#
#   docker build -t ghcr.io/your-org/bayes-serve:0.1.0 .
#   docker run --rm -p 8000:8000 ghcr.io/your-org/bayes-serve:0.1.0 serve --model s3://bucket/prefix --port 8000
#
# Three stages: `build` compiles the TypeScript with the dev dependencies, `deps` installs the production
# dependencies only, and the final stage holds just Node.js, those dependencies and `dist/`, running as a non-root
# numeric user (so Kubernetes' runAsNonRoot can verify it) with no compiler, package manager or shell tools added.
# Built and run by `npm run test:container` (scripts/test-container.ts, in CI): podman/buildah with runc, on a base
# image built locally where none can be pulled (scripts/build-base-image.sh); see docs/deploy.md for what that covers.
# Pin the base image by digest for reproducible builds: --build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:…
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: TypeScript → dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Of the dev dependencies the build needs only the compiler, the bundler and Node's types; the test tools (vitest,
# playwright-core, s3rver, @stdlib, …: over half of what `npm ci` would unpack) are dropped from this stage's
# package.json, and `npm install` keeps the lock file's versions of everything else. --ignore-scripts: the package's
# `prepare` script runs the build, and the sources are not copied in yet. npm's download cache lives in a build cache
# mount: kept between builds, never in a layer.
RUN --mount=type=cache,target=/root/.npm \
    node -e 'const fs = require("fs"); const p = JSON.parse(fs.readFileSync("package.json", "utf8")); \
      const keep = ["typescript", "esbuild", "@types/node"]; \
      p.devDependencies = Object.fromEntries(keep.map((name) => [name, p.devDependencies[name]])); \
      fs.writeFileSync("package.json", JSON.stringify(p, null, 2));' \
 && npm install --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle-server.mjs ./scripts/
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Install without lifecycle scripts (the root `prepare` would need tsc), then run the dependencies' own install
# scripts (e.g. esbuild's, for tsx, which loads user model files written in TypeScript). Type declarations and source
# maps are never read at run time (over a third of these dependencies' bytes): they are dropped.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild --no-audit --no-fund \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \) -delete

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# The base image's npm, npx, corepack and yarn are not needed to run the service: remove them.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# uid/gid 1000 is the base image's `node` user. Files stay root-owned, so the process cannot modify its own code;
# it needs only /tmp to be writable (Kubernetes mounts an emptyDir there under a read-only root filesystem).
USER 1000:1000
EXPOSE 8000
LABEL org.opencontainers.image.title="bayes-serve" \
      org.opencontainers.image.description="Train Bayesian models with NUTS and serve point, interval and density predictions." \
      org.opencontainers.image.licenses="MIT"
# The scoring service's V8 heap settings come from NODE_OPTIONS, which `bayes-serve deploy` sets on it
# (SERVING_NODE_OPTIONS in src/server/constants.ts); training jobs keep V8's defaults.
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve"]
