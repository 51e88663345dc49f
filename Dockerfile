# One image for every CEX unit. FUNCTION_TARGET, set per deployment, picks
# what the container runs: dist/bundles/launch.mjs (functions/launch.ts)
# starts that target's own bundle, dist/bundles/<target>.mjs:
#   command-submit | command-lookup | history-listing | esp-inbound |
#   scmp-config-reload   a Knative Service each (knative/base/)
#   console              the operator console's Knative Service: the files Vite
#                        builds below (dist/console) and /console/config.json
#   nats-bridge          the bridge Deployment
#   migrate              the migrations Job (applies migrations/ and exits)
#   unset                the all-in-one dev host, from dist/functions/main.js (needs
#                        DATABASE_URL and NATS_URL here: the image carries no embedded Postgres)
#
# Build: `make image` (docker build -t cex:latest .). No secret is baked in:
# DATABASE_URL, CEX_SERVICE_TOKEN and CEX_CALLBACK_SECRET come from a Secret
# at run time (knative/README.md).

# Node 26 is the Active LTS line (since 2026-10-28; 24 moved to maintenance
# on 2026-10-20); trixie is the current Debian stable. Pin a digest in
# production builds: --build-arg NODE_IMAGE=node:26-trixie-slim@sha256:...
ARG NODE_IMAGE=node:26-trixie-slim

# --- build: every dependency, TypeScript compiled to dist/ ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: compiling needs no install script (the tree's few belong
# to dev-only packages: embedded Postgres, test tooling).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY functions ./functions
COPY shared ./shared
COPY console ./console
COPY scripts/bundle.mjs ./scripts/bundle.mjs
RUN npx tsc -p tsconfig.json
# Each FUNCTION_TARGET's bundle (esbuild, dist/bundles/): a cold start loads
# one file holding only what its target uses. The bundles carry postgres.js
# inside them, so its fix (shared/db/patch-postgres.mjs; npm ci ran with
# --ignore-scripts) is applied to this stage's node_modules first.
RUN node shared/db/patch-postgres.mjs
RUN node scripts/bundle.mjs
# The operator console: its browser code type-checked on its own tsconfig,
# then bundled by Vite into dist/console (static files, content-hashed).
RUN npx tsc -p console/tsconfig.json
RUN npx vite build --config console/vite.config.ts

# --- deps: production node_modules only, from the lockfile ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional drops embedded-postgres's platform binaries (60 MB of the
# 95 MB a plain --omit=dev installs): only the dev host uses them, and only
# with no DATABASE_URL. The lockfile's other optional package (pg-cloudflare)
# is for Cloudflare Workers. test/deploy/image.test.ts fails when a new
# optional package appears in the production tree, so this stays a choice.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund
# --ignore-scripts skipped our own postinstall: apply the postgres.js fix it
# carries (shared/db/patch-postgres.mjs explains the defect) explicitly.
COPY shared/db/patch-postgres.mjs ./shared/db/patch-postgres.mjs
RUN node shared/db/patch-postgres.mjs

# --- runtime ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# npm is not needed to run CEX. Removing it does not shrink the image (the
# base layer keeps its bytes), but nothing in the container can fetch or run
# packages, and scanners stop reporting npm's own dependencies.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx
# Owned by root and not writable by the runtime user: the process can read
# its code but never change it. package.json carries "type": "module".
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/bundles ./dist/bundles
COPY --from=build /app/dist/functions ./dist/functions
COPY --from=build /app/dist/shared ./dist/shared
COPY --from=build /app/dist/console ./dist/console
COPY migrations ./migrations
# Numeric, so Kubernetes can verify runAsNonRoot (uid 1000 is `node` in the
# official images).
USER 1000:1000
EXPOSE 8080
# node is PID 1 and handles SIGTERM itself (shared/roots/): stop
# accepting, release sync waiters with 202, drain, close Postgres, exit 0.
# The launcher imports FUNCTION_TARGET's bundle into this same process.
# Stack traces name the bundle's lines (not minified, each module headed by
# its source path); NODE_OPTIONS=--enable-source-maps maps them to the
# TypeScript sources, for ~0.1 s more CPU at start.
CMD ["node", "dist/bundles/launch.mjs"]
