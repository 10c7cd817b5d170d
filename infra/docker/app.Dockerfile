# One image for api and etl (the command picks the process).
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# chdb (embedded engine) is not needed in containers: they talk to ClickHouse servers.
RUN npm ci --omit=dev --omit=optional --ignore-scripts && npm cache clean --force
COPY tsconfig.json ./
COPY lib ./lib
COPY api ./api
COPY etl ./etl
COPY cli ./cli
USER node
EXPOSE 8080
# V8 flags of every API process: why in lib/runtime/node-flags.ts (a test keeps them in step).
CMD ["node", "--max-semi-space-size=64", "--heap-growing-percent=100", "--no-memory-reducer", "--v8-pool-size=1", "--import", "tsx", "cli/api.ts"]
