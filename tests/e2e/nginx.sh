# start_nginx ROOT: serves ROOT as a tlog-tiles prefix with Debian's nginx,
# as the current user, in the foreground (not a daemon), on a free
# loopback port, with its config, logs and temp dirs under $T/nginx.
# Sets NGINX_PID and TILES_URL. Sourced after lib.sh.
NGINX_PID=
start_nginx() {
    local root=$1 d=$T/nginx port
    mkdir -p "$d"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # The cache headers are the ones README "Scaling out" recommends
    # (and ll_publish_cache_control returns).
    cat >"$d/nginx.conf" <<CONF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
user $(id -un) $(id -gn);
events { worker_connections 64; }
http {
    access_log $d/access.log;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    server {
        listen 127.0.0.1:$port;
        root $root;
        location = /checkpoint {
            default_type "text/plain; charset=utf-8";
            add_header Cache-Control "no-cache";
        }
        location ~ ^/tile/.*\.p/ {
            default_type application/octet-stream;
            add_header Cache-Control "public, max-age=60";
            gzip on; gzip_types application/octet-stream;
        }
        location /tile/ {
            default_type application/octet-stream;
            add_header Cache-Control "public, max-age=31536000, immutable";
            gzip on; gzip_types application/octet-stream;
        }
        location / { return 404; }
    }
}
CONF
    nginx -e "$d/error.log" -p "$d" -c "$d/nginx.conf" -g 'daemon off;' >>"$d/stderr.log" 2>&1 &
    NGINX_PID=$!
    TILES_URL=http://127.0.0.1:$port/
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "$TILES_URL" && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$d/stderr.log" "$d/error.log" >&2; fail "nginx exited at start"; }
        sleep 0.05
    done
    fail "nginx did not start"
}
stop_nginx() {
    [[ -n $NGINX_PID ]] && kill -TERM "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
}
