#!/usr/bin/env bash
# Installs everything mboxfs needs to build, test and benchmark on Debian 12.
# Idempotent; skips the network when every package is already there.
set -euo pipefail

packages=(
	build-essential meson ninja-build pkg-config python3
	libfuse3-dev fuse3 libxxhash-dev libcmocka-dev
	libc-client2007e-dev # UW's own c-client: the test oracle
	courier-imap courier-pop # the real servers, for end-to-end tests
	courier-authdaemon courier-authlib-userdb # real logins: the proxy test
	iproute2 util-linux  # ip, unshare: the proxy test's own namespaces
	isync mb2md          # a real caching client; the converter mboxfs replaces
	clang                # libFuzzer and sanitizers
)
[ "${MBOXFS_BENCH:-}" ] && packages+=(hyperfine time)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
