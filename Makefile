# Quick start: `make demo` runs the main job, `make test` runs every test.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps configure build cli demo test bench clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

# Everything, tests included.
build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Only the `tenet` executable (what the demo needs).
cli: configure
	@cmake --build $(BUILD) -j $(JOBS) --target tenet_cli

demo: cli
	@$(BUILD)/apps/tenet/tenet fwi --out out

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: cli
	@bench/run.sh

clean:
	rm -rf $(BUILD) out
