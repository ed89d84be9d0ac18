#!/usr/bin/env bash
# Drive cri-fake with a real Python grpcio client: a full pod lifecycle over a unix socket.
#
#   conformance/python/run.sh
#
# grpc-core based clients (Python grpcio, C++, Ruby, grpc-java) send the unix socket path
# as the HTTP/2 :authority; this checks the fake accepts that like containerd does.
# Creates (and caches) a venv in target/python-venv with requirements.txt, generates the
# CRI stubs from proto/api.proto into a temporary directory, builds and starts
# target/debug/cri-fake on a socket in that directory, runs cri_lifecycle.py with default
# channel options, then stops the fake by its pid and removes the directory.
# Needs python3 (3.8+, with venv and pip) and PyPI reachable on first use.
#
# Environment (all optional):
#   CRI_PYTHON       the interpreter for the venv (default: python3)
#   CRI_PYTHON_VENV  the venv directory (default: <repo>/target/python-venv)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
PYTHON=${CRI_PYTHON:-python3}
VENV=${CRI_PYTHON_VENV:-$REPO_ROOT/target/python-venv}
REQUIREMENTS=$SCRIPT_DIR/requirements.txt

log() { printf 'python/run.sh: %s\n' "$*" >&2; }

WORKDIR=$(mktemp -d /tmp/cri-python.XXXXXX)
FAKE_PID=""
cleanup() {
	if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	rm -rf "$WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The venv is reused while requirements.txt is unchanged.
stamp=$VENV/.requirements.txt
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQUIREMENTS" "$stamp"; then
	log "creating $VENV"
	rm -rf "$VENV"
	"$PYTHON" -m venv "$VENV"
	"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
	cp "$REQUIREMENTS" "$stamp"
fi

mkdir "$WORKDIR/stubs"
"$VENV/bin/python" -m grpc_tools.protoc -I "$REPO_ROOT/proto" \
	--python_out="$WORKDIR/stubs" --grpc_python_out="$WORKDIR/stubs" \
	"$REPO_ROOT/proto/api.proto"

(cd "$REPO_ROOT" && cargo build --quiet -p cri-fake --features cli --bin cri-fake)
SOCK=$WORKDIR/cri.sock
"$REPO_ROOT/target/debug/cri-fake" --listen "unix://$SOCK" --log warn >"$WORKDIR/fake.log" 2>&1 &
FAKE_PID=$!

for _ in $(seq 1 100); do
	[ -S "$SOCK" ] && break
	kill -0 "$FAKE_PID" 2>/dev/null || {
		cat "$WORKDIR/fake.log" >&2
		log "error: cri-fake exited before listening"
		exit 1
	}
	sleep 0.1
done
[ -S "$SOCK" ] || {
	cat "$WORKDIR/fake.log" >&2
	log "error: no socket at $SOCK after 10s"
	exit 1
}

status=0
"$VENV/bin/python" "$SCRIPT_DIR/cri_lifecycle.py" "$WORKDIR/stubs" "$SOCK" || status=$?
if [ "$status" -ne 0 ]; then
	log "error: the Python lifecycle failed (exit $status); cri-fake's log:"
	cat "$WORKDIR/fake.log" >&2
fi
exit "$status"
