# Runs `npm ci && npm test` as on the development machines: Node 20, Java 17, Maven,
# Debian's clickhouse-server.
FROM node:20.20-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jre-headless maven clickhouse-server \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
CMD ["bash", "-c", "npm ci && npm test"]
