# Shared by ops/run, ops/test and ops/bench: install what is missing, build.
# Sourced, not executed.
set -euo pipefail

LL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LL_DEBS=(build-essential cmake pkg-config libgrpc-dev protobuf-c-compiler
         libprotobuf-c-dev liblmdb-dev lmdb-utils libssl-dev libcmocka-dev
         golang-go golang-golang-x-mod-dev nodejs npm clang nginx curl
         libmicrohttpd-dev libcurl4-openssl-dev
         # The HTTP face (loopledgerd --http): libmicrohttpd (maintained,
         # packaged, HTTP parsing and TLS with client certificates via
         # GnuTLS, thread pool) and GnuTLS to read the client certificate.
         libgnutls28-dev
         # Its tests: promtool (metrics format), headless Chromium driven
         # by Selenium (console), Python gRPC/protobuf (gateway vs gRPC).
         prometheus chromium chromium-driver python3-selenium protobuf-compiler
         python3-grpcio python3-protobuf python3-cryptography python3-pytest
         python3-pandas python3-venv python3-pip python3-setuptools
         python3-scipy python3-mpmath
         # The console over HTTPS in Chromium with a client certificate
         # (e2e_http_tls): certutil/pk12util fill its NSS database.
         libnss3-tools)

ll_install_deps() {
    local missing=()
    for p in "${LL_DEBS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    # node/npm may come from outside Debian on some machines: accept any.
    if command -v node >/dev/null && command -v npm >/dev/null; then
        local m2=()
        for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || m2+=("$p"); done
        missing=("${m2[@]+"${m2[@]}"}")
    fi
    if ((${#missing[@]})); then
        echo "ops: installing ${missing[*]}" >&2
        local sudo=""
        [[ $(id -u) == 0 ]] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# ll_build DIR [cmake args...]
ll_build() {
    local dir=$1
    shift
    cmake -S "$LL_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
}
