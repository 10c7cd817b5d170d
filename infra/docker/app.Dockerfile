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
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "api/src/main.ts"]
