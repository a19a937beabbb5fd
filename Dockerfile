# syntax=docker/dockerfile:1
# Volet: privacy-first NVR. Build: docker build -t volet .   Run: see docker-compose.yml

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source; these tools stay in this stage only.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node's install script would download CUDA libraries; the CPU build ships in the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
# Dependencies in their own layer (native ones built by npm rebuild); the project's prepare script,
# the build, needs src/ and runs below.
RUN npm ci --ignore-scripts && npm rebuild && npm cache clean --force
COPY volet.example.yml ./
COPY bin ./bin
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY web ./web
COPY models ./models
# The image runs the compiled dist/ only: the sources and the build tools (devDependencies) stay here.
RUN npm run build && npm prune --omit=dev && npm cache clean --force && rm -rf src scripts
# The detector model is downloaded once at build time and checked against models/manifest.json.
RUN node bin/volet.js models fetch yolox_nano

FROM node:20-bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /config /storage \
 && chown node:node /config /storage
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production \
    VOLET_MODELS_DIR=/app/models
USER node
# /storage holds only ciphertext and the index. Plaintext segments live in storage.cachePath,
# which must be a tmpfs: keep the default /dev/shm/volet and give the container enough shm
# (docker run --shm-size=512m, or shm_size in compose).
VOLUME ["/config", "/storage"]
EXPOSE 8443
# "volet health" reads web.host/port/https from the same config and asks /healthz: 503 (a camera not
# recording, disk below the retention floor, index not writable) or no answer is unhealthy.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
  CMD ["node", "bin/volet.js", "--config", "/config/volet.yml", "health"]
ENTRYPOINT ["tini", "--", "node", "bin/volet.js"]
CMD ["--config", "/config/volet.yml", "run"]
