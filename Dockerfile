# The worker and the API, for people who run the stack with Docker (see docker-compose.yml).
# Node 24 LTS; the seed validator also needs real parsers for code blocks: python3, gofmt, rustfmt.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 golang-go rustfmt ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY drizzle ./drizzle
COPY fixtures ./fixtures
USER node
CMD ["node", "--import", "tsx", "src/worker.ts"]
