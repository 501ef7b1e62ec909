#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh Debian machine,
# only what is missing:
#   - Go 1.26: Debian ships an older Go, so when no Go 1.26 is on the PATH,
#     Debian's Go bootstraps the official toolchain from the Go module proxy
#     (module golang.org/toolchain) into $GO_SDK (the Makefile puts it on PATH);
#   - gcc and libc6-dev (the race detector needs cgo), git.
#   - qemu-user-static (make test-arm runs the suite for armv7 and arm64).
#   - the interop lab's peers: kamailio, kamailio-tls-modules, baresip-core,
#     sip-tester, tshark; nginx-light and apache2 (provisioning servers: mTLS,
#     Digest auth).
#   - PulseAudio (pulseaudio, pulseaudio-utils): the Pulse device's tests run
#     a private server of their own (audio/device/pulse/pulsetest).
#   - chromium: the control API's CSRF probe runs a headless browser.
set -euo pipefail

GO_VERSION=1.26.8
GO_SDK=${GO_SDK:-$HOME/.cache/phoned/go$GO_VERSION}
export PATH="$GO_SDK/bin:$PATH"

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
updated=""
apt_install() {
  if [ -z "$updated" ]; then $sudo apt-get update -qq; updated=1; fi
  echo "deps: installing $*"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v git >/dev/null 2>&1 || need+=(git)
command -v make >/dev/null 2>&1 || need+=(make)
# ip makes the network namespace the RFC 4475 table test runs in (sip).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# qemu-user runs the ARM test binaries (make test-arm).
{ command -v qemu-arm-static && command -v qemu-aarch64-static; } >/dev/null 2>&1 || need+=(qemu-user-static)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

# The interop lab's peers (scripts/lab): Kamailio (its Debian package holds
# every module the lab loads), baresip, SIPp and tshark/dumpcap.
lab=()
command -v kamailio >/dev/null 2>&1 || lab+=(kamailio)
command -v baresip >/dev/null 2>&1 || lab+=(baresip-core)
command -v sipp >/dev/null 2>&1 || lab+=(sip-tester)
command -v tshark >/dev/null 2>&1 || lab+=(tshark)
command -v nginx >/dev/null 2>&1 || lab+=(nginx-light)
command -v apache2 >/dev/null 2>&1 || lab+=(apache2)
# Kamailio's TLS module (SIP over TLS tests) is a package of its own.
ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1 || lab+=(kamailio-tls-modules)
if [ ${#lab[@]} -gt 0 ]; then
  apt_install "${lab[@]}"
  # Tests run their own Kamailio, nginx and Apache on free ports; packaged
  # services that started on 5060 or 80 would only get in the way.
  for svc in kamailio nginx apache2; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
      $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  done
fi

# Chromium (headless) plays the victim's browser in the control API's CSRF
# probe (firmware/interop, lab.StartChromium).
command -v chromium >/dev/null 2>&1 || apt_install chromium

# PulseAudio for the Pulse device's tests. Each test starts its own server
# on its own socket; a packaged per-user or system service is not used.
pa=()
command -v pulseaudio >/dev/null 2>&1 || pa+=(pulseaudio)
command -v pactl >/dev/null 2>&1 || pa+=(pulseaudio-utils)
[ ${#pa[@]} -eq 0 ] || apt_install "${pa[@]}"

go_ok() {
  command -v go >/dev/null 2>&1 || return 1
  local v; v=$(go env GOVERSION 2>/dev/null || true)  # e.g. go1.26.8
  v=${v#go}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "${major:-0}" -gt 1 ] || { [ "${major:-0}" -eq 1 ] && [ "${minor:-0}" -ge 26 ]; }
}

if ! go_ok; then
  command -v go >/dev/null 2>&1 || apt_install golang-go ca-certificates
  case "$(uname -m)" in
    x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; armv7l|armv6l) arch=armv6l ;; *) arch=$(uname -m) ;;
  esac
  mod="golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-$arch"
  echo "deps: fetching Go $GO_VERSION ($mod) from the module proxy into $GO_SDK"
  tmp=$(mktemp -d)
  trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
  dir=$(cd "$tmp" && GOMODCACHE="$tmp/mod" GOFLAGS=-modcacherw GOTOOLCHAIN=local \
        go mod download -json "$mod" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || { echo "deps: could not download $mod" >&2; exit 1; }
  mkdir -p "$(dirname "$GO_SDK")"
  rm -rf "$GO_SDK"
  cp -r "$dir" "$GO_SDK"
  chmod -R u+w "$GO_SDK"
  chmod +x "$GO_SDK"/bin/* "$GO_SDK"/pkg/tool/*/*
  go_ok || { echo "deps: Go $GO_VERSION did not install" >&2; exit 1; }
fi
