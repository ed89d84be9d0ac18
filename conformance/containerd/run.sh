#!/usr/bin/env bash
# Run a command against a disposable, private, real containerd (no registry needed).
#
#   conformance/containerd/run.sh [COMMAND [ARGS...]]
#
# As root on Debian: installs containerd, runc and busybox-static if missing, starts a
# containerd whose root, state, sockets, runc state and CNI dirs all live in a private work
# dir, builds the suite's two test images (busybox and the sandbox image) with
# `cri-conformance build-images`, imports them with ctr, then runs COMMAND with
# CRI_ENDPOINT=unix://<socket> exported. Without COMMAND it prints the endpoint and waits
# for Ctrl-C. On exit (also on failure or Ctrl-C) it kills what containerd started, stops
# containerd by its pid, unmounts everything under the work dir, removes the cgroups and
# shim sockets of its containers and deletes the work dir; then it checks nothing is left.
# The exit status is COMMAND's, or 1 if setting up or cleaning up failed, or 77 if this
# machine cannot run it (not root; packages missing and apt-get cannot install them).
#
# Environment (all optional):
#   CRI_WORKDIR          work dir to use; must not exist or be empty (default: mktemp -d
#                        /tmp/cri-containerd.XXXXXX). Removed on exit.
#   CRI_KEEP_WORKDIR=1   keep the work dir (config, containerd.log) after cleanup.
#   CRI_BUSYBOX          static busybox to build the images from (default /bin/busybox).
#   CRI_IMAGE_DIR        directory that already holds busybox.tar and pause.tar: import
#                        those instead of building them.
#   CRI_CARGO_FLAGS      cargo flags for building the image builder (default --release;
#                        set it empty to use a debug build).
#   CRI_START_TIMEOUT    seconds to wait for containerd to come up (default 30).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
PACKAGES=(containerd runc busybox-static)
BUSYBOX=${CRI_BUSYBOX:-/bin/busybox}
START_TIMEOUT=${CRI_START_TIMEOUT:-30}
CARGO_FLAGS=${CRI_CARGO_FLAGS---release}
SHIM_SOCKET_DIR=/run/containerd/s

WORKDIR=""
SOCK=""
CONTAINERD_PID=""
WAIT_PID=""
CREATED_DIRS=() # directories outside the work dir that did not exist before we started
SHIM_SOCKETS=() # shim sockets (in /run/containerd/s) our shims used

log() { printf 'containerd/run.sh: %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}
# Exit status 77 ("skipped") means this machine cannot run a containerd: not root, or
# the packages are missing and apt cannot install them. CI can tell that from a failure.
unsupported() {
	log "error: $*"
	exit 77
}

# ---------------------------------------------------------------- requirements

require_root() {
	[ "$(id -u)" -eq 0 ] || unsupported "must run as root (it starts containerd and mounts file systems); try: sudo $0 $*"
}

ensure_packages() {
	local missing=() pkg out
	for pkg in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
			missing+=("$pkg")
		fi
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return
	fi
	command -v apt-get >/dev/null || unsupported "missing packages ${missing[*]} and no apt-get: install them by hand"
	log "installing ${missing[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	if ! out=$(apt-get update -qq 2>&1); then
		unsupported "apt-get update failed (is the Debian mirror reachable?):
$out"
	fi
	if ! out=$(apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1); then
		unsupported "apt-get install ${missing[*]} failed:
$out"
	fi
}

check_tools() {
	local tool
	for tool in containerd ctr runc containerd-shim-runc-v2 findmnt; do
		command -v "$tool" >/dev/null || die "$tool not found in PATH"
	done
	[ -x "$BUSYBOX" ] || die "no busybox binary at $BUSYBOX (install busybox-static or set CRI_BUSYBOX)"
}

# ---------------------------------------------------------------- set up

make_workdir() {
	local dir
	if [ -n "${CRI_WORKDIR:-}" ]; then
		dir=$CRI_WORKDIR
		check_workdir_path "$dir"
		if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
			die "CRI_WORKDIR=$dir exists and is not empty"
		fi
		mkdir -p "$dir"
		dir=$(cd "$dir" && pwd -P)
	else
		dir=$(mktemp -d /tmp/cri-containerd.XXXXXX)
	fi
	check_workdir_path "$dir"
	# From here on, cleanup owns (and removes) the directory.
	WORKDIR=$dir
	SOCK=$WORKDIR/containerd.sock
	mkdir -p "$WORKDIR"/{root,state,runc,opt,cni/bin,cni/net.d,images}
}

check_workdir_path() {
	case $1 in
	*[[:space:]]* | *[\\\"@\'\|]*) die "work dir path $1 must not contain spaces, quotes, backslashes, | or @" ;;
	/?*) ;;
	*) die "work dir $1 is not an absolute path" ;;
	esac
	# unix socket paths are limited to 107 bytes; the ttrpc socket is the longest one.
	[ ${#1} -le 80 ] || die "work dir path too long for unix sockets: $1"
}

remember_missing_dir() {
	[ -e "$1" ] || CREATED_DIRS+=("$1")
}

write_config() {
	sed "s|@WORKDIR@|$WORKDIR|g" "$SCRIPT_DIR/config.toml.in" >"$WORKDIR/config.toml"
}

start_containerd() {
	local deadline exe
	remember_missing_dir /run/containerd
	remember_missing_dir "$SHIM_SOCKET_DIR"
	local cg
	for cg in /sys/fs/cgroup/ /sys/fs/cgroup/*/; do
		[ -d "$cg" ] && remember_missing_dir "${cg}k8s.io"
	done

	# setsid: a Ctrl-C in the terminal must reach this script, not containerd, so that
	# cleanup can still talk to containerd.
	setsid containerd --config "$WORKDIR/config.toml" >"$WORKDIR/containerd.log" 2>&1 </dev/null &
	CONTAINERD_PID=$!
	deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		if ! kill -0 "$CONTAINERD_PID" 2>/dev/null || [ "$(proc_state "$CONTAINERD_PID")" = Z ]; then
			wait "$CONTAINERD_PID" 2>/dev/null || true
			CONTAINERD_PID=""
			die "containerd exited during start-up; last lines of $WORKDIR/containerd.log:
$(tail -n 30 "$WORKDIR/containerd.log")"
		fi
		if [ -S "$SOCK" ] && grep -q 'containerd successfully booted' "$WORKDIR/containerd.log" &&
			ctr -a "$SOCK" version >/dev/null 2>&1; then
			break
		fi
		if [ $SECONDS -ge $deadline ]; then
			die "containerd did not come up within ${START_TIMEOUT}s; last lines of $WORKDIR/containerd.log:
$(tail -n 30 "$WORKDIR/containerd.log")"
		fi
		sleep 0.1
	done
	exe=$(readlink "/proc/$CONTAINERD_PID/exe" || true)
	case $exe in
	*/containerd) ;;
	*) die "pid $CONTAINERD_PID is $exe, not containerd" ;;
	esac
	# The CRI plugin only warns when it cannot load; without it there is nothing to test.
	if ! ctr -a "$SOCK" plugins ls | awk '$1 == "io.containerd.grpc.v1" && $2 == "cri" { found = $NF == "ok" } END { exit !found }'; then
		die "containerd's CRI plugin did not load; from $WORKDIR/containerd.log:
$(grep -E 'level=(warning|error)' "$WORKDIR/containerd.log" | tail -n 20)"
	fi
	log "containerd $(containerd --version | awk '{print $3}') up (pid $CONTAINERD_PID) at unix://$SOCK"
}

build_and_import_images() {
	local dir=$WORKDIR/images archive
	if [ -n "${CRI_IMAGE_DIR:-}" ]; then
		dir=$CRI_IMAGE_DIR
		log "using prebuilt images from $dir"
	else
		log "building test images from $BUSYBOX"
		# shellcheck disable=SC2086 # CARGO_FLAGS is a list of flags
		(cd "$REPO_ROOT" && cargo run -q -p cri-conformance --bin cri-conformance $CARGO_FLAGS -- \
			build-images --busybox "$BUSYBOX" --out "$dir") >&2
	fi
	for archive in busybox.tar pause.tar; do
		[ -f "$dir/$archive" ] || die "no $dir/$archive"
		ctr -a "$SOCK" -n k8s.io images import "$dir/$archive" >/dev/null ||
			die "ctr images import $dir/$archive failed"
	done
	log "imported: $(ctr -a "$SOCK" -n k8s.io images ls -q | grep -v '^sha256:' | tr '\n' ' ')"
}

# ---------------------------------------------------------------- clean up

proc_state() {
	# Third field of /proc/PID/stat (after "PID (comm)"); empty if the process is gone.
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	printf '%s' "${stat%% *}"
}

# Asks containerd to kill and delete every task it runs (in every namespace), so that
# runc removes the cgroups and the shims exit on their own.
remove_tasks() {
	local ns id ids
	for ns in $(timeout 10 ctr -a "$SOCK" namespaces ls -q 2>/dev/null); do
		ids=$(timeout 10 ctr -a "$SOCK" -n "$ns" tasks ls -q 2>/dev/null) || continue
		for id in $ids; do
			timeout 10 ctr -a "$SOCK" -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1
		done
		for id in $ids; do
			timeout 15 ctr -a "$SOCK" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1
		done
	done
}

stop_containerd() {
	local pid=$CONTAINERD_PID i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		case $(proc_state "$pid") in "" | Z) break ;; esac
		sleep 0.1
	done
	case $(proc_state "$pid") in "" | Z) ;; *)
		log "containerd (pid $pid) ignored SIGTERM for 10s: killing it"
		kill -KILL "$pid" 2>/dev/null
		;;
	esac
	wait "$pid" 2>/dev/null
	CONTAINERD_PID=""
}

# Ids of every task bundle (sandboxes and containers), from the work dir.
task_ids() {
	local bundle
	for bundle in "$WORKDIR"/state/io.containerd.runtime.v2.task/*/*/; do
		[ -d "$bundle" ] && basename "$bundle"
	done
}

# Cgroup directories of our tasks, deepest first.
task_cgroups() {
	local id
	for id in $(task_ids); do
		find /sys/fs/cgroup -mindepth 1 -maxdepth 8 -type d -name "$id" 2>/dev/null
	done | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

# Pids of our shims: the bundles' shim.pid files, if that process is a shim started by
# this containerd (its command line names our socket).
shim_pids() {
	local file pid
	for file in "$WORKDIR"/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
		[ -f "$file" ] || continue
		pid=$(cat "$file" 2>/dev/null) || continue
		[[ $pid =~ ^[0-9]+$ ]] || continue
		if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$SOCK"; then
			echo "$pid"
		fi
	done
	# Shims whose bundle is already gone but that still name our socket.
	for pid in $(pgrep -f containerd-shim 2>/dev/null); do
		if tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "-address $SOCK"; then
			echo "$pid"
		fi
	done
}

# Pids of processes inside our tasks' cgroups.
cgroup_pids() {
	local cg
	for cg in $(task_cgroups); do
		cat "$cg/cgroup.procs" 2>/dev/null
	done
}

# Whatever containerd did not stop: processes in our cgroups, then our shims (by pid).
kill_leftovers() {
	local round pids
	for round in 1 2 3 4 5; do
		pids=$(cgroup_pids | sort -un)
		[ -n "$pids" ] || break
		log "killing leftover container processes: $(echo $pids)"
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.2
	done
	for round in 1 2 3; do
		pids=$(shim_pids | sort -un)
		[ -n "$pids" ] || break
		log "killing leftover shims: $(echo $pids)"
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.2
	done
}

# Shim sockets in /run/containerd/s that our shims created (named in the bundles).
remove_shim_sockets() {
	local file address
	for file in "$WORKDIR"/state/io.containerd.runtime.v2.task/*/*/address; do
		[ -f "$file" ] || continue
		address=$(cat "$file" 2>/dev/null) || continue
		address=${address#unix://}
		case $address in
		"$SHIM_SOCKET_DIR"/*)
			SHIM_SOCKETS+=("$address")
			rm -f -- "$address"
			;;
		esac
	done
}

mounts_under_workdir() {
	# Field 5 of mountinfo is the mount point; deepest first.
	awk -v dir="$WORKDIR" '$5 == dir || index($5, dir "/") == 1 { print $5 }' /proc/self/mountinfo |
		awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

unmount_all() {
	local round m
	for round in 1 2 3 4 5; do
		m=$(mounts_under_workdir)
		[ -n "$m" ] || return 0
		while IFS= read -r m; do
			umount -- "$m" 2>/dev/null || umount -l -- "$m" 2>/dev/null
		done <<<"$m"
	done
}

remove_cgroups() {
	local cg
	for cg in $(task_cgroups); do
		rmdir -- "$cg" 2>/dev/null
	done
}

remove_created_dirs() {
	# Newest first, so that /run/containerd/s goes before /run/containerd.
	local i
	for ((i = ${#CREATED_DIRS[@]} - 1; i >= 0; i--)); do
		[ -d "${CREATED_DIRS[i]}" ] && rmdir -- "${CREATED_DIRS[i]}" 2>/dev/null
	done
	return 0
}

# Checks nothing of ours is left. Prints what is and returns 1 if something is.
verify_clean() {
	local problems=() pids
	pids=$(pgrep -f -- "$WORKDIR" 2>/dev/null | grep -vx "$$" || true)
	[ -z "$pids" ] || problems+=("processes naming $WORKDIR: $(echo $pids)")
	[ -z "$(mounts_under_workdir)" ] || problems+=("mounts under $WORKDIR: $(mounts_under_workdir | tr '\n' ' ')")
	local socket
	for socket in "${SHIM_SOCKETS[@]}"; do
		[ ! -e "$socket" ] || problems+=("shim socket $socket")
	done
	if [ "${CRI_KEEP_WORKDIR:-0}" != 1 ] && [ -e "$WORKDIR" ]; then
		problems+=("$WORKDIR still exists")
	fi
	if [ ${#problems[@]} -gt 0 ]; then
		log "cleanup left things behind:"
		printf '  %s\n' "${problems[@]}" >&2
		return 1
	fi
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	[ -n "$WAIT_PID" ] && kill "$WAIT_PID" 2>/dev/null && wait "$WAIT_PID" 2>/dev/null
	[ -n "$WORKDIR" ] || exit "$rc"
	log "cleaning up $WORKDIR"
	if [ -n "$CONTAINERD_PID" ] && [ -S "$SOCK" ]; then
		remove_tasks
	fi
	stop_containerd
	kill_leftovers
	unmount_all
	remove_cgroups
	remove_shim_sockets
	if [ "${CRI_KEEP_WORKDIR:-0}" = 1 ]; then
		log "keeping $WORKDIR (CRI_KEEP_WORKDIR=1)"
	else
		rm -rf --one-file-system -- "$WORKDIR"
	fi
	remove_created_dirs
	if verify_clean; then
		log "cleanup done: no process, mount or file left"
	elif [ "$rc" -eq 0 ]; then
		rc=1
	fi
	exit "$rc"
}

# ---------------------------------------------------------------- main

main() {
	require_root "$@"
	ensure_packages
	check_tools
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	make_workdir
	write_config
	start_containerd
	build_and_import_images

	export CRI_ENDPOINT=unix://$SOCK
	export CRI_CONTAINERD_WORKDIR=$WORKDIR
	if [ $# -eq 0 ]; then
		log "ready: CRI_ENDPOINT=$CRI_ENDPOINT (containerd log: $WORKDIR/containerd.log); Ctrl-C to stop"
		echo "$CRI_ENDPOINT"
		sleep infinity &
		WAIT_PID=$!
		wait "$WAIT_PID"
		return 0
	fi
	log "running: $*"
	local status=0
	"$@" || status=$?
	log "command exited with status $status"
	return "$status"
}

main "$@"
