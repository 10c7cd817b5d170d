#!/usr/bin/env bash
# One-shot (compose service elasticsearch-setup): as the `elastic` superuser, sets the
# password of Kibana's built-in kibana_system user and creates apm_writer, the user
# apm-server writes with (APM data streams only). Idempotent: every start re-applies it,
# so changing KIBANA_SYSTEM_PASSWORD or APM_ES_PASSWORD and re-running takes effect.
# Passwords travel in request bodies and a curl config on stdin, never in argv.
set -euo pipefail
ES=${ES_URL:-http://elasticsearch:9200}

json_string() { # JSON string literal of $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

es() { # es METHOD PATH BODY
  local user=${ELASTIC_PASSWORD//\\/\\\\}
  user=${user//\"/\\\"}
  printf 'user = "elastic:%s"\n' "$user" |
    curl -fsS -K - -X "$1" "$ES$2" -H 'Content-Type: application/json' --data-binary @<(printf '%s' "$3") >/dev/null
}

until es GET /_security/_authenticate ''; do
  echo 'waiting for elasticsearch security'
  sleep 2
done

es POST /_security/user/kibana_system/_password "{\"password\":$(json_string "$KIBANA_SYSTEM_PASSWORD")}"

es PUT /_security/role/apm_writer '{
  "cluster": ["monitor"],
  "indices": [
    { "names": ["traces-apm*", "logs-apm*", "metrics-apm*"], "privileges": ["auto_configure", "create_doc"] },
    { "names": [".apm-agent-configuration", ".apm-source-map"], "privileges": ["read"], "allow_restricted_indices": true }
  ]
}'

es PUT /_security/user/apm_writer "{\"password\":$(json_string "$APM_ES_PASSWORD"),\"roles\":[\"apm_writer\"]}"
echo 'elasticsearch users ready: kibana_system, apm_writer'
