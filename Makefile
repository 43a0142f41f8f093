# Thin wrapper over the go commands and vm/vm.sh (GNU make).
GO ?= go
KERNEL_TEST_ARGS ?=

.PHONY: build lint test vm-setup vm-test bench ci clean

build:
	CGO_ENABLED=0 $(GO) build -o bin/ipvsadm ./cmd/ipvsadm

lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt -l: these files need gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test:
	$(GO) test -race ./...

vm-setup:
	vm/vm.sh setup

vm-test: vm-setup
	vm/vm.sh kernel-test $(KERNEL_TEST_ARGS)

# ipvsadm 1.31 vs ours in the VM (see vm/bench.sh; BENCH_QUICK=1 for a quick run).
bench: vm-setup
	GO=$(GO) vm/bench.sh

# In this order, even under make -j.
ci:
	$(MAKE) lint
	$(MAKE) test
	$(MAKE) vm-test

clean:
	rm -rf bin

include dist/install.mk
