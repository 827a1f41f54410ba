# Kinerja: top-level driver. `make demo` and `make check` are the Quick start (README).
#   make            build into build/bin/
#   make up / down  start / stop the local stack under ./var (idempotent)
#   make demo       deps, build, up, push a simulated day of traffic, print the results
#   make check      deps, build (plain and ASan+UBSan), every test
#   make bench      benchmark against the running local stack
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# No `gmake[n]: Entering/Leaving directory` lines, here or in cmake's own sub-makes.
MAKEFLAGS += --no-print-directory

# `make up` and `make demo` build quietly: cmake's configure chatter and per-file progress
# are dropped, warnings and errors pass as they come, then one line says what was built.
define quiet_build
	@set -o pipefail; { [ -f $(BUILD)/CMakeCache.txt ] || \
	  cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS); \
	  cmake --build $(BUILD) -j $(JOBS); } 2>&1 | \
	  awk '/^-- |^\[ *[0-9]+%\] |^Consolidate compiler generated dependencies/ { n += /\] Building/; next } \
	       { print } END { printf "build: %s", n ? n " files compiled, " : "" }' && echo "$(BUILD)/bin ready" || \
	  { echo "failed (the errors are above)"; exit 1; }
endef

.PHONY: format-check all build asan deps up down restart demo check unit integration bench bench-peer fuzz chaos fuzz-pipeline clean format

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DKINERJA_SANITIZE=ON $(CMAKE_FLAGS)

asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

up:
	$(quiet_build)
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

restart: down up

demo: deps
	$(quiet_build)
	@scripts/stack.sh up
	@scripts/demo.sh

# Unit tests run in both builds; integration tests run against the ASan+UBSan binaries,
# so a memory error anywhere on the real path fails the suite. Two at a time (every test
# takes free ports and its own temporary directory): serially the suite, with the intake
# and ingest suites run again on a Redis Cluster, would take about 15 minutes here.
check: deps
	@$(MAKE) build asan
	cd $(BUILD) && ctest --output-on-failure -L unit
	cd $(ASAN_BUILD) && ctest --output-on-failure -j 2

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

integration: asan
	cd $(ASAN_BUILD) && ctest --output-on-failure -L integration

bench: build
	@scripts/stack.sh up
	$(BUILD)/bin/kinerja bench

# The peer in the same run (issue 15, docs/PERFORMANCE.md "Peer"): BullMQ + pg from the npm
# registry (bench/peer/package-lock.json) against `kinerja bench`, on a stack of its own
# (ports 6701..6705, /tmp/kinerja-bench-peer), medians of 3. Not part of `make check`.
# PEER_ARGS="--events 20000" for a quicker run; "--batched" adds the batched variant.
PEER_ARGS ?=
bench-peer: build
	@command -v node >/dev/null || { echo "bench-peer: node not found (Node.js >= 20)" >&2; exit 1; }
	@[ -d bench/peer/node_modules ] || { command -v npm >/dev/null || { echo "bench-peer: npm not found" >&2; exit 1; }; cd bench/peer && npm ci --no-audit --no-fund; }
	/usr/bin/python3 bench/peer_bench.py $(PEER_ARGS)

# libFuzzer over the front door: mpscan_check -> msgpack unpack -> event_decode.
# FUZZ_SECONDS=600 make fuzz for a longer run; new crashes land in build-fuzz/.
FUZZ_SECONDS ?= 120
fuzz: deps
	mkdir -p build-fuzz/corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icommon tests/fuzz/fuzz_frame.c \
	  common/mpscan.c common/event.c common/buf.c $$(pkg-config --cflags --libs msgpack) -lm -o build-fuzz/fuzz_frame
	cd build-fuzz && ./fuzz_frame -max_total_time=$(FUZZ_SECONDS) -max_len=4096 corpus/

# Kill the broker, every worker role, Redis and PostgreSQL at random moments while events
# flow, once with intake.durability = everysec and once with always; then check that every
# accepted event is in PostgreSQL exactly once, no notification is lost, no scheduled job
# ran twice and every result is a full recalculation's (SPEC 7, docs/RELIABILITY.md).
# CHAOS_SECONDS=600 make chaos for a longer run.
CHAOS_SECONDS ?= 60
chaos: build
	@rc=0; \
	/usr/bin/python3 tests/chaos/chaos.py --seconds $(CHAOS_SECONDS) --durability everysec --bin $(BUILD)/bin || rc=1; \
	/usr/bin/python3 tests/chaos/chaos.py --seconds $(CHAOS_SECONDS) --durability always --bin $(BUILD)/bin || rc=1; \
	exit $$rc

# Random events of every type at and past every bound through a real stack (ASan build);
# fails if any period stops computing or any accepted event is lost (issue 12).
# FUZZ_PIPELINE_SECONDS=60 make fuzz-pipeline for a shorter run. Not part of `make check`.
FUZZ_PIPELINE_SECONDS ?= 600
fuzz-pipeline: asan
	/usr/bin/python3 tests/fuzz/fuzz_pipeline.py --seconds $(FUZZ_PIPELINE_SECONDS) --bin $(ASAN_BUILD)/bin

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

format:
	git ls-files -z '*.c' '*.h' | xargs -0 clang-format -i

# What .ci/run enforces: every C file as .clang-format has it.
format-check:
	git ls-files -z '*.c' '*.h' | xargs -0 clang-format --dry-run --Werror
