# dispatchd: the two commands are `make run` and `make test`.
#
#   make run     install what is missing, build, run the daemon with the demo campus
#   make test    install what is missing, build, run every test suite (ctest)
#   make bench   build and run every benchmark: a table and bench/results/latest.json
#   make clean   remove the build directory
#
# Works on a fresh Debian 12 machine with only make installed (as root, or
# with sudo). Every step is idempotent: with nothing changed, `make test`
# checks the packages, lets ninja find nothing stale and runs the tests.

BUILD_DIR  ?= build
BUILD_TYPE ?= RelWithDebInfo
LISTEN     ?= 127.0.0.1:50051
DATA_DIR   ?= var
DEMO       ?= config/demo_campus.json
TOKENS     ?= config/demo_tokens.txt
CTEST_JOBS ?= 2

# Debian 12 packages the build needs (compiler, build tools, libraries).
DEB_PACKAGES := g++ cmake ninja-build pkg-config protobuf-compiler \
  protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev \
  libboost-dev libgtest-dev libgmock-dev libbenchmark-dev openssl

.PHONY: all deps configure build run test bench clean

all: build

# Installs only what is missing; with everything present it runs no apt at all.
deps:
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do \
	  status=$$(dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null || true); \
	  [ "$$status" = "install ok installed" ] || missing="$$missing $$pkg"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "deps: installing$$missing"; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "deps: missing$$missing; run as root or install sudo" >&2; exit 1; fi; \
	$$sudo apt-get update && \
	$$sudo env DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y --no-install-recommends $$missing

# Configure once; afterwards ninja re-runs cmake itself when a CMakeLists changes.
$(BUILD_DIR)/build.ninja: | deps
	cmake -G Ninja -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

configure: deps $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR)

# Builds just the daemon (it links the demo), then runs it in the foreground;
# Ctrl-C stops it cleanly.
run: configure
	cmake --build $(BUILD_DIR) --target dispatchd dispatchctl
	@echo "make run: access control is on, with the demo tokens in $(TOKENS):"
	@echo "  dispatcher:    export DISPATCH_TOKEN=demo-dispatcher-token"
	@echo "  technician:    export DISPATCH_TOKEN=demo-tech-elec-01-token  (acts as T-ELEC-01 only)"
	@echo "  alert trigger: export DISPATCH_TOKEN=demo-bms-power-token     (source bms-power-monitor)"
	@echo "  then e.g. ./$(BUILD_DIR)/clients/dispatchctl/dispatchctl --server=$(LISTEN) board"
	exec ./$(BUILD_DIR)/services/dispatchd --listen=$(LISTEN) --data_dir=$(DATA_DIR) --demo=$(DEMO) \
	  --tokens_file=$(TOKENS)

# Fails if no test is registered: a green run that ran nothing is not green.
test: build
	@count=$$(ctest --test-dir $(BUILD_DIR) -N | sed -n 's/^Total Tests: *//p'); \
	if [ "$${count:-0}" -eq 0 ]; then \
	  echo "make test: no tests are registered in $(BUILD_DIR) (ctest -N)" >&2; exit 1; \
	fi
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(CTEST_JOBS)

# Builds the drivers and the daemon, runs the engine micro-benchmarks
# (Google Benchmark), then run_all: every figure of issue 6 against its
# target, with the baselines measured in the same run (docs/performance.md).
bench: configure
	cmake --build $(BUILD_DIR) --target dispatchd run_all engine_bench
	./$(BUILD_DIR)/bench/engine_bench --benchmark_min_time=0.5
	./$(BUILD_DIR)/bench/run_all --dispatchd=$(BUILD_DIR)/services/dispatchd \
	  --out=bench/results/latest.json --work_dir=bench/results/work

clean:
	rm -rf $(BUILD_DIR)
