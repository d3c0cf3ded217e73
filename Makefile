# Cove: one Makefile for the VMM, its unit tests, the lab and the benchmarks.
#
#   make            build build/cove
#   make unit       build and run the cmocka unit tests (foo_test.c beside foo.c)
#   make check      unit tests, fuzz corpora replayed, then the integration suite in the lab
#   make fuzz       libFuzzer targets build/fuzz/NAME from tests/fuzz/fuzz_NAME.c (clang)
#   make fuzz-run   run them for FUZZ_SECONDS each (FUZZ_TARGETS=NAME... to pick some)
#   make fuzz-replay  each target's corpus tests/fuzz/corpus/NAME/ through the normal build
#   make asan/ubsan the same unit and lab tests with a sanitizer build
#   make bench      benchmarks side by side with QEMU (see bench/README.md; BENCH=boot|blk)
#   make bench-tools  host-side benchmark programs build/tools/NAME from tools/NAME.c
#   make guest      the test guests under build/guest (Debian kernel, initramfs)
#
# Objects go under $(BUILD); V=1 shows the commands.

ARCH ?= x86
VARIANT ?=
BUILD ?= build$(if $(VARIANT),/$(VARIANT))

CC ?= cc
CFLAGS_WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	-Wstrict-prototypes -Wpointer-arith -Wcast-qual -Wformat=2 -Wno-format-nonliteral
CFLAGS_BASE := -std=gnu11 -O2 -g -D_GNU_SOURCE -Isrc -Isrc/arch/$(ARCH) -MMD -MP
SAN_asan := -fsanitize=address -fno-omit-frame-pointer
SAN_ubsan := -fsanitize=undefined -fno-sanitize-recover=undefined
SAN := $(SAN_$(VARIANT))
CFLAGS := $(CFLAGS_BASE) $(CFLAGS_WARN) $(SAN) $(EXTRA_CFLAGS)
LDFLAGS := $(SAN) -pthread
LDLIBS := -luring -ljson-c

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Every .c under src/ except tests, main and the other architectures.
ALL_SRCS := $(shell find src -name '*.c' | sort)
OTHER_ARCH := $(filter-out src/arch/$(ARCH)/%,$(filter src/arch/%/%,$(ALL_SRCS)))
TEST_SRCS := $(filter %_test.c,$(ALL_SRCS))
LIB_SRCS := $(filter-out %_test.c src/main.c $(OTHER_ARCH),$(ALL_SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS := $(patsubst src/%_test.c,$(BUILD)/tests/%_test,$(filter-out $(OTHER_ARCH:%.c=%_test.c),$(TEST_SRCS)))

COVE := $(BUILD)/cove

.SECONDARY:
.PHONY: all unit check check-lab asan ubsan bench bench-net guest lab-shell clean tiny-guest \
	fuzz fuzz-run fuzz-replay bench-tools
all: $(COVE)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libcove.a: $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(COVE): $(BUILD)/src/main.o $(BUILD)/libcove.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%_test: $(BUILD)/src/%_test.o $(BUILD)/libcove.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The freestanding guest that host-side KVM tests run (tests/tiny/).
# An ELF entered through its PVH note, so it also tests Cove's PVH path.
TINY := $(BUILD)/tiny/tiny.elf
tiny-guest: $(TINY)
$(TINY): tests/tiny/tiny.S tests/tiny/tiny.ld
	@mkdir -p $(dir $@)
	$(Q)$(CC) -c -o $(BUILD)/tiny/tiny.o tests/tiny/tiny.S
	$(Q)ld -nostdlib -T tests/tiny/tiny.ld -o $@ $(BUILD)/tiny/tiny.o

# Host-side benchmark programs (tools/NAME.c, linked with libcove.a; bench/README.md).
BENCH_TOOLS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(wildcard tools/*.c))
bench-tools: $(BENCH_TOOLS)
$(BUILD)/tools/%: $(BUILD)/tools/%.o $(BUILD)/libcove.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(TEST_BINS) $(COVE)
	$(Q)tests/run-unit $(TEST_BINS)

# Fuzzing: every tests/fuzz/fuzz_NAME.c is one target (see tests/fuzz/fuzz.h).
# `fuzz` compiles the library again with clang and the fuzzer instrumentation
# (warnings are not errors there: the normal build enforces them);
# `fuzz-replay` links each target with tests/fuzz/replay.c and the normal
# $(CC) (and sanitizer variant) and runs it over its committed corpus. Both
# link tests/fuzz/harness.c, the code the device targets share.
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(CFLAGS_BASE) $(CFLAGS_WARN) -Wno-error $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_OBJ := build/fuzz-obj
FUZZ_BINS := $(FUZZ_NAMES:%=build/fuzz/%)
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)
FUZZ_SECONDS ?= 120
FUZZ_TARGETS ?= $(FUZZ_NAMES)

$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_OBJ)/libcove.a: $(LIB_SRCS:%.c=$(FUZZ_OBJ)/%.o)
	$(Q)rm -f $@ && ar rcs $@ $^

build/fuzz/%: $(FUZZ_OBJ)/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)/tests/fuzz/harness.o $(FUZZ_OBJ)/libcove.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_BINS)

# New inputs go to build/fuzz-corpus/NAME; copy the interesting ones (small)
# into tests/fuzz/corpus/NAME by hand.
fuzz-run: $(FUZZ_BINS)
	$(Q)for n in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz-corpus/$$n && \
		build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
			build/fuzz-corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

$(BUILD)/fuzz-replay/%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o \
			$(BUILD)/tests/fuzz/harness.o $(BUILD)/libcove.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz-replay: $(FUZZ_REPLAYS)
	$(Q)for n in $(FUZZ_NAMES); do $(BUILD)/fuzz-replay/$$n tests/fuzz/corpus/$$n || exit 1; done

guest:
	$(Q)guest/build-all

# The whole suite: unit tests on the host, then every integration test in the lab.
check: unit fuzz-replay $(TINY)
	$(Q)guest/build-all
	$(Q)COVE=$(abspath $(COVE)) TINY=$(abspath $(TINY)) tests/lab/run-suite

asan:
	$(MAKE) VARIANT=asan check
ubsan:
	$(MAKE) VARIANT=ubsan check

# BENCH=boot, blk, net or 9p runs one of them (default: all).
BENCH ?= all
bench: $(COVE) bench-tools
	$(Q)guest/build-all
	$(Q)COVE=$(abspath $(COVE)) BLK_BENCH=$(abspath $(BUILD)/tools/blk_bench) BENCH=$(BENCH) \
		bench/run

# virtio-net and virtio-vsock against QEMU (bench/net.py), one lab boot:
# the same as `make bench BENCH=net`.
bench-net: $(COVE)
	$(Q)guest/build-all
	$(Q)COVE=$(abspath $(COVE)) BENCH=net bench/run

# An interactive level-1 shell in the lab, with this tree shared read-only.
lab-shell: $(COVE)
	$(Q)guest/build-all
	$(Q)tests/lab/lab --interactive

clean:
	rm -rf build/cove build/libcove.a build/src build/tests build/tools build/tiny build/asan build/ubsan \
		build/fuzz build/fuzz-obj build/fuzz-replay build/fuzz-corpus

-include $(shell find $(BUILD)/src $(BUILD)/tests $(BUILD)/tools $(FUZZ_OBJ) -name '*.d' 2>/dev/null)
