# Thin wrapper over the go commands and vm/vm.sh (GNU make).
GO ?= go
KERNEL_TEST_ARGS ?=

# Lint tools. staticcheck is pinned (v0.8.2 is staticcheck 2026.2.2, checked
# with Go 1.26) and installed into bin/tools under a versioned name, so that
# bumping the pin reinstalls it; shellcheck comes from Debian.
STATICCHECK_VERSION := v0.8.2
TOOLS := $(CURDIR)/bin/tools
STATICCHECK := $(TOOLS)/staticcheck-$(STATICCHECK_VERSION)
SHELL_SCRIPTS := $(wildcard vm/*.sh vm/lib/*.sh) vm/guest/init vm/guest/run-kernel-tests .ci/run

# Go modules nested in this tree (excluded from ./...), linted and tested
# from their own directories: the moby/ipvs benchmark driver, whose module
# keeps that library out of this module's dependencies.
NESTED_MODULES := vm/bench/moby

# How long each fuzzer runs in `make fuzz` (CI runs every one briefly).
FUZZTIME ?= 5s

.PHONY: build lint shellcheck-installed test fuzz vm-setup vm-test demo bench pgo conformance-record ci clean

build:
	CGO_ENABLED=0 $(GO) build -o bin/ipvsadm ./cmd/ipvsadm

lint: $(STATICCHECK) shellcheck-installed
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@set -e; for m in $(NESTED_MODULES); do \
		echo "lint: module $$m"; \
		(cd $$m && $(GO) vet ./... && $(STATICCHECK) ./...); \
	done
	shellcheck -x $(SHELL_SCRIPTS)

$(STATICCHECK):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(TOOLS)/staticcheck $@

shellcheck-installed:
	@command -v shellcheck >/dev/null || { \
		echo "installing shellcheck (Debian package)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends shellcheck </dev/null || \
		{ apt-get update -q </dev/null && apt-get install -y -q --no-install-recommends shellcheck </dev/null; }; \
	}

test:
	$(GO) test -race ./...
	@set -e; for m in $(NESTED_MODULES); do (cd $$m && $(GO) test -race ./...); done

# Every fuzz test of every package, FUZZTIME each. A failure without a
# failing input (the engine's worker lost under load) is tried once more.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' "$$pkg" | grep '^Fuzz'); do \
			echo "fuzz: $$pkg $$f for $(FUZZTIME)"; \
			for try in 1 2; do \
				if out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) "$$pkg" 2>&1); then break; fi; \
				case "$$out" in *"Failing input written"*) try=2;; esac; \
				if [ $$try = 2 ]; then echo "$$out" | tail -30; \
					echo "fuzz: $$f failed; rerun: $(GO) test -run '^$$' -fuzz '^$$f$$' $$pkg"; exit 1; fi; \
				echo "fuzz: $$f: the fuzzing engine failed without a failing input; once more"; \
			done; \
		done; \
	done

vm-setup:
	vm/vm.sh setup

vm-test: vm-setup
	vm/vm.sh kernel-test $(KERNEL_TEST_ARGS)

# A load balancer at work, narrated: a client, a director programmed by this
# ipvsadm, three real servers, in the VM (vm/demo.sh). Not part of ci.
demo: vm-setup build
	vm/vm.sh run --timeout 300 --file bin/ipvsadm:/work/ipvsadm --file vm/demo.sh:/work/demo.sh -- demo.sh

# ipvsadm 1.31 vs ours in the VM (see vm/bench.sh; BENCH_QUICK=1 for a quick run).
bench: vm-setup
	GO=$(GO) vm/bench.sh

# Re-record cmd/ipvsadm/default.pgo, the profile that go build optimizes
# ours with, from the benchmark's workloads in the VM (see vm/pgo.sh).
pgo: vm-setup
	GO=$(GO) vm/pgo.sh

# Re-record what ipvsadm 1.31 does in each conformance case, for the host
# replay (testdata/conformance/reference.json).
conformance-record: vm-setup
	GO=$(GO) vm/record-conformance.sh

# In this order, even under make -j.
ci:
	$(MAKE) lint
	$(MAKE) test
	$(MAKE) fuzz
	$(MAKE) vm-test

clean:
	rm -rf bin

include dist/install.mk
