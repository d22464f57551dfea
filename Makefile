# fcs — build and test entry points. `make test` is the one command that runs every test.
SWIFT ?= swift
JOBS ?= 2

.PHONY: all build release test bench clean

all: build

build:
	$(SWIFT) build -j $(JOBS)

release:
	$(SWIFT) build -c release -j $(JOBS) --product fcs

# Every test of the project (CI runs exactly this).
test:
	$(SWIFT) test -j $(JOBS)

# Speed figures (prints, never asserts); compare with tools/bench_ops_torch.py.
bench: release
	$(SWIFT) run -c release fcs bench ops

clean:
	rm -rf .build
