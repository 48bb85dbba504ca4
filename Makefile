# Encore: the two commands of the README's Quick start, and their parts.
#   make demo   install what is missing, build Release, run the main job
#   make test   install, build, run every test (also under ASan+UBSan)
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps build build-asan demo test test-release test-asan bench clean

all: build

deps:
	@bash tools/setup-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENCORE_SANITIZE=address \
	  -DENCORE_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD_DIR) -j$(JOBS)

demo: build
	./$(BUILD_DIR)/tools/encore-sim

test: test-release test-asan

test-release: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j$(JOBS)

test-asan: build-asan
	ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j$(JOBS)

bench: build
	./$(BUILD_DIR)/bench/core_apply_bench
	./$(BUILD_DIR)/bench/queue_bench

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
