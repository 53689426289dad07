# syntax=docker/dockerfile:1
# catsyphon-ingest: gRPC ingestion service. Two stages: the builder compiles
# TypeScript with every dependency; the runtime stage holds production
# dependencies, the compiled JS and the buf-built descriptors only.
# test/ops/image.integration.test.ts replays these steps without Docker.

FROM node:20-slim AS builder
WORKDIR /app
# Lockfile first so the install layer is cached until dependencies change.
# `npm install` (not `npm ci`): see /work/shared/TOOLCHAIN.md, the lockfile
# only carries this platform's optional binaries.
COPY package.json package-lock.json ./
RUN npm install --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    GRPC_PORT=4317 \
    OTLP_HTTP_PORT=4318 \
    METRICS_PORT=9464
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc, which is a dev dependency. No
# production dependency needs an install script (bcrypt ships prebuilds).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/* \
 && mkdir -p /data \
 && chown 1000:1000 /data
COPY --from=builder /app/dist ./dist
COPY generated/descriptors.binpb ./generated/descriptors.binpb
COPY bin ./bin
# Everything above belongs to root and is read-only for the service; the
# only writes are the embedded PGlite database under DATA_DIR (unused when
# DATABASE_URL points at PostgreSQL). Works with readOnlyRootFilesystem.
USER 1000:1000
VOLUME ["/data"]
EXPOSE 4317 4318 9464
STOPSIGNAL SIGTERM
# node directly, not npm: npm does not forward SIGTERM, so the graceful
# shutdown (NOT_SERVING, drain, close the database, exit 0) would never run.
CMD ["node", "dist/src/cli/main.js", "serve"]
