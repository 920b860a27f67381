# Sourced by the reliability scripts (from the repository root): installs what a script needs
# and builds the server they start.

# need COMMAND DEBIAN-PACKAGE: installs the package with apt-get when the command is missing.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "== apt-get install $2 (for $1)"
  if [[ -z ${RELIABILITY_APT_UPDATED:-} ]]; then
    apt-get update -qq
    export RELIABILITY_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# The server the scripts start (src/bin/reliability-server.rs), release build, root workspace.
# A RELIABILITY_SERVER_BIN set by the caller is used as it is (e.g. a build of another tree).
build_server() {
  if [[ -n ${RELIABILITY_SERVER_BIN:-} ]]; then
    echo "== using RELIABILITY_SERVER_BIN=$RELIABILITY_SERVER_BIN"
    return 0
  fi
  echo "== cargo build --release -p reliability --bin reliability-server"
  cargo build --release --quiet -p reliability --bin reliability-server
  export RELIABILITY_SERVER_BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/reliability-server
}

# No proxy may stand between the clients and 127.0.0.1.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
