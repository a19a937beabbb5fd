# syntax=docker/dockerfile:1
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
ENV ONNXRUNTIME_NODE_INSTALL=skip
RUN npm ci --omit=dev
COPY . .

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV VOLET_MODELS_DIR=/config/models
USER node
VOLUME ["/config", "/storage"]
EXPOSE 8443
CMD ["node", "bin/volet.js", "--config", "/config/volet.yml", "run"]
