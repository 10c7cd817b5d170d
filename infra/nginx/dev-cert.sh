#!/usr/bin/env bash
# Writes a self-signed certificate for localhost (tls.crt, tls.key) into DIR (default
# infra/nginx/certs, which docker-compose.yml mounts at /etc/nginx/certs), to try the stack
# over HTTPS:  curl --cacert infra/nginx/certs/tls.crt https://localhost/healthz
# Production: put the real certificate chain and key there under those names, or point
# NGINX_CERTS_DIR at a directory that has them. Never commit a key (certs/ is ignored).
set -euo pipefail
dir="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/certs}"
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null
chmod 600 "$dir/tls.key"
echo "dev-cert.sh: wrote $dir/tls.crt and $dir/tls.key (self-signed, 30 days)" >&2
