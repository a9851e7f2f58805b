#!/usr/bin/env bash
# Start nginx as a reverse proxy that serves an upstream under a path prefix, as InfluxDB is
# often published (k6 2.3 accepts such URLs): PREFIX/anything -> UPSTREAM/anything.
#   usage: start-nginx-proxy.sh STATE_DIR [PORT|auto]        (default 18480)
# Needs:    NGINX_PROXY_UPSTREAM=http://127.0.0.1:PORT
# Optional: NGINX_PROXY_PREFIX=/influx (default /proxy/influx)
# Prints NGINX_PROXY_URL (http://127.0.0.1:PORT/PREFIX, no trailing slash), NGINX_PROXY_PORT.
# Requests outside the prefix get 404, so a client that drops the prefix is caught.
SVC_NAME=nginx-proxy
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NEED_HINT="apt-get install nginx-light curl" need_cmd nginx curl
[ -n "${NGINX_PROXY_UPSTREAM:-}" ] || die "set NGINX_PROXY_UPSTREAM to the server to proxy"
PREFIX="${NGINX_PROXY_PREFIX:-/proxy/influx}"
PREFIX="/${PREFIX#/}"
PREFIX="${PREFIX%/}"

init_state_dir "${1:-}"
PORT="$(resolve_port "${2:-${NGINX_PROXY_PORT:-}}" 18480)"
mkdir -p "$STATE_DIR/nginx-tmp"

CONF="$STATE_DIR/nginx-proxy.conf"
cat >"$CONF" <<CONF_EOF
daemon off;
worker_processes 1;
pid $STATE_DIR/nginx-tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $STATE_DIR/nginx-tmp/body;
  proxy_temp_path $STATE_DIR/nginx-tmp/proxy;
  fastcgi_temp_path $STATE_DIR/nginx-tmp/fastcgi;
  uwsgi_temp_path $STATE_DIR/nginx-tmp/uwsgi;
  scgi_temp_path $STATE_DIR/nginx-tmp/scgi;
  client_max_body_size 64m;
  server {
    listen 127.0.0.1:$PORT;
    location = /__ready { return 204; }
    location $PREFIX/ {
      proxy_pass ${NGINX_PROXY_UPSTREAM%/}/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location / { return 404 "outside the proxy prefix $PREFIX\n"; }
  }
}
CONF_EOF

# nginx -p: its prefix (and the default log paths) in the state folder, not /var/lib/nginx.
start_bg nginx -p "$STATE_DIR" -c "$CONF" -e stderr
URL="http://127.0.0.1:$PORT"
wait_ready http_ok "$URL/__ready"
emit "NGINX_PROXY_URL=$URL$PREFIX" "NGINX_PROXY_PORT=$PORT"
