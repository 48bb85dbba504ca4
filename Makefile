# Encore: the two commands of the README's Quick start, and their parts.
#   make demo   install what is missing, build Release, run a flash sale against encored,
#               then the engine's flash-sale simulation
#   make test   install, build, check style, run every test (Release, ASan+UBSan, and TSan for threads)
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
TSAN_BUILD_DIR ?= build-tsan
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan build-tsan demo test test-style test-release test-asan test-tsan bench clean

all: build

deps:
	@bash tools/setup-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENCORE_SANITIZE=address \
	  -DENCORE_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD_DIR) -j$(JOBS)

# TSan covers the threaded parts: the runtime's tests and the client library's.
build-tsan: deps
	cmake -S . -B $(TSAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENCORE_SANITIZE=thread \
	  -DENCORE_BUILD_BENCHMARKS=OFF -DENCORE_BUILD_TOOLS=OFF -DENCORE_BUILD_PERSISTENCE=OFF -DENCORE_BUILD_NET=ON \
	  $(CMAKE_FLAGS) >/dev/null
	cmake --build $(TSAN_BUILD_DIR) -j$(JOBS) --target engine_test recovery_test client_test

demo: build
	bash tools/demo-server.sh $(BUILD_DIR)
	./$(BUILD_DIR)/tools/encore-sim --users 5000 --seats 300 --active 100

test: test-style test-release test-asan test-tsan

# Formatting (.clang-format) and clang-tidy (.clang-tidy) on the Release build's compile commands.
test-style: build
	JOBS=$(JOBS) bash tools/check-style.sh $(BUILD_DIR)

test-release: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

test-asan: build-asan
	ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j$(JOBS)

test-tsan: build-tsan
	TSAN_OPTIONS=halt_on_error=1 ./$(TSAN_BUILD_DIR)/tests/engine_test
	TSAN_OPTIONS=halt_on_error=1 ./$(TSAN_BUILD_DIR)/tests/recovery_test
	TSAN_OPTIONS=halt_on_error=1 ./$(TSAN_BUILD_DIR)/tests/client_test

bench: build
	./$(BUILD_DIR)/bench/core_apply_bench
	./$(BUILD_DIR)/bench/queue_bench

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(TSAN_BUILD_DIR)
