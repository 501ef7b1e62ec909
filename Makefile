# phoned: open desk phone firmware. `make help` lists the targets.

# scripts/deps.sh installs Go 1.26 here when the machine has no Go 1.26.
export PATH := $(HOME)/.cache/phoned/go1.26.8/bin:$(PATH)
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -s -w -X main.version=$(VERSION)
# Reproducible: no paths, no VCS stamp, no build id; the version comes from ldflags.
# nethttpomithttp2 leaves net/http's HTTP/2 out (~250 KiB on armv7): the local API
# speaks HTTP/1.1.
# Size (the armv7 budget is 8 MiB): inlining is off except in the packages of the
# per-frame media path (HOTPKGS): SIP, TLS handshakes, HTTP, JSON and TOML work per
# message, not per 20 ms frame. README "Building" has the figures.
HOTPKGS     := runtime/... internal/... sync/... time net syscall math/... encoding/binary \
               crypto/aes crypto/cipher crypto/subtle crypto/hmac crypto/sha1 crypto/internal/fips140/aes/... \
               crypto/internal/fips140/sha1 crypto/internal/fips140/hmac crypto/internal/fips140/subtle \
               crypto/internal/fips140/alias crypto/internal/fips140deps/... \
               github.com/deskphone/phoned/audio/... github.com/pion/... github.com/zaf/... \
               github.com/jfreymuth/...
GCFLAGS     := -gcflags=all=-l $(foreach p,$(HOTPKGS),-gcflags=$(p)=)
# The phoned that interop tests start (firmware/phoneproc) is built the same way.
export PHONED_GOFLAGS := -tags=nethttpomithttp2 $(GCFLAGS)
BUILDFLAGS  := -trimpath -buildvcs=false -tags nethttpomithttp2 $(GCFLAGS) -ldflags "$(LDFLAGS) -buildid="
# ARMv7 Linux has 4 KiB pages only: aligning the ELF segments to 4 KiB instead of
# the linker's 64 KiB default drops up to 2 x 60 KiB of padding from the file.
ARMV7FLAGS  := -trimpath -buildvcs=false -tags nethttpomithttp2 $(GCFLAGS) -ldflags "$(LDFLAGS) -buildid= -R 0x1000"
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BIN         := bin
CONFIG      ?= configs/phoned.toml
FUZZTIME    ?= 30s
export CGO_ENABLED ?= 0

.PHONY: help build cross run demo test check unit race test-arm test-repeat lint bench figures media-figures srtp-figures soak fuzz deps clean

help:
	@echo "make run     run the phone on the simulated board (terminal keypad, CONFIG=$(CONFIG))"
	@echo "make test    lint; unit, component and interop tests (with -race); the suite for ARM under qemu; the demo"
	@echo "make check   lint and the unit tier (go test -short): the everyday check, no peers needed"
	@echo "make test-repeat N=5  make test N times on a clean clone of HEAD; failures per test"
	@echo "make build   build bin/phoned for this machine"
	@echo "make cross   build stripped static binaries for linux/amd64, arm (v7) and arm64"
	@echo "make demo    two sim phones call each other; checks two-way audio by tone detection"
	@echo "make bench   run the benchmarks and print their figures"
	@echo "make figures sound figures on a private PulseAudio: round trip, off-hook to dial tone, idle CPU"
	@echo "make media-figures  a 60 s call each way with baresip: RTP send pacing on the wire, CPU, peak RSS"
	@echo "make srtp-figures   a 60 s plain and a 60 s SRTP call with baresip: phoned's CPU in each"
	@echo "make soak    SIPp INVITE floods at 50, 200, 500/s for 10 s during a call: audio gaps each way, RSS, CPU"
	@echo "make fuzz    run every fuzz target for FUZZTIME=$(FUZZTIME)"
	@echo "make lint    gofmt, go vet, staticcheck"
	@echo "make test-arm  the test suite for linux/arm (v7) and arm64 under qemu-user"

build: deps
	$(GO) build $(BUILDFLAGS) -o $(BIN)/phoned ./firmware/cmd/phoned

cross: deps
	GOOS=linux GOARCH=amd64 $(GO) build $(BUILDFLAGS) -o $(BIN)/phoned-linux-amd64 ./firmware/cmd/phoned
	GOOS=linux GOARCH=arm GOARM=7 $(GO) build $(ARMV7FLAGS) -o $(BIN)/phoned-linux-armv7 ./firmware/cmd/phoned
	GOOS=linux GOARCH=arm64 $(GO) build $(BUILDFLAGS) -o $(BIN)/phoned-linux-arm64 ./firmware/cmd/phoned
	@ls -l $(BIN)/phoned-linux-* | awk '{printf "%-28s %6.2f MiB  %9d bytes\n", $$9, $$5/1048576, $$5}'

run: build
	$(BIN)/phoned -config $(CONFIG)

demo: build
	$(TESTRUN) $(GO) run ./firmware/cmd/phonedemo -phoned $(BIN)/phoned

# The test tiers (README, "Tests"): unit (go test -short: no peers, no real
# time), component and interop (real sockets, real peers), ARM (the suite
# under qemu-user minus native-only tests), benchmarks and figures.
# scripts/testrun.sh gives each run a private TMPDIR and, however the run
# ends, ends the peers it started and removes the folder.
TESTRUN := scripts/testrun.sh
N       ?= 5

test: lint race test-arm demo

# The everyday check: lint and the unit tier, well under 2 minutes.
check: lint unit

unit: deps
	$(TESTRUN) $(GO) test -short -count=1 ./...

# The race detector needs cgo; scripts/deps.sh makes sure gcc is there.
race: deps
	CGO_ENABLED=1 $(TESTRUN) $(GO) test -race -count=1 ./...

# The whole suite cross-compiled for the phone's CPUs and run under
# qemu-user (Debian's qemu-user-static): the code that runs on the phone is
# the code that was tested. No cgo, so no -race here. PHONED_TEST_EMULATED
# skips the native-only tests (real-time cadence, gaps, pacing), each of
# which says why.
test-arm: deps
	PHONED_TEST_EMULATED=1 CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 $(TESTRUN) $(GO) test -count=1 -exec qemu-arm-static ./...
	PHONED_TEST_EMULATED=1 CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(TESTRUN) $(GO) test -count=1 -exec qemu-aarch64-static ./...

# make test N times on a clean clone of the committed HEAD.
test-repeat: deps
	scripts/test-repeat.sh $(N) test

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: deps
	$(GO) test -run='^$$' -bench=. -benchmem ./...

figures: deps
	$(GO) test -run='^$$' -bench='Figures(RoundTrip|OffHook)' -benchtime=20x ./audio/device/pulse/
	$(GO) test -run='^$$' -bench=FiguresIdleCPU -benchtime=60x ./audio/device/pulse/

# Issue 4's media figures, phoned and baresip side by side (PHONED_FIGURE_CALL=10s for a short try).
media-figures: deps
	$(GO) test -run='^$$' -bench=MediaFigures -benchtime=1x -timeout 10m ./firmware/interop/

# Issue 12's SRTP figure: phoned's CPU in a plain and an SRTP call with baresip, same run.
srtp-figures: deps
	$(GO) test -run='^$$' -bench=SRTPFigures -benchtime=1x -timeout 10m ./firmware/interop/

# Issue 18's flood figures: a call with baresip under a SIPp INVITE flood at 50, 200 and
# 500/s for 10 s each (PHONED_FLOOD_LENGTH=3s for a short try); fails on an audio gap over
# 60 ms in one direction while the other flowed (a stall of both is the machine's) or a peak
# RSS over twice the in-call RSS. make test runs one short flood (TestFloodAudioGap, native
# only, 200 ms bound on phoned's own sending: make test loads the machine).
soak: deps
	$(TESTRUN) $(GO) test -run='^$$' -bench=FloodFigures -benchtime=1x -timeout 15m ./firmware/interop/

fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	  done; done

deps:
	@scripts/deps.sh

clean:
	rm -rf $(BIN)
