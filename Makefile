# Cove: one Makefile for the VMM, its unit tests, the lab and the benchmarks.
#
#   make            build build/cove
#   make unit       build and run the cmocka unit tests (foo_test.c beside foo.c)
#   make check      unit tests, then the integration suite in the nested lab
#   make asan/ubsan the same unit and lab tests with a sanitizer build
#   make bench      benchmarks side by side with QEMU (see bench/README.md)
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
LDLIBS := -luring

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
.PHONY: all unit check check-lab asan ubsan bench guest lab-shell clean tiny-guest
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

unit: $(TEST_BINS) $(COVE)
	$(Q)tests/run-unit $(TEST_BINS)

guest:
	$(Q)guest/build-all

# The whole suite: unit tests on the host, then every integration test in the lab.
check: unit $(TINY)
	$(Q)guest/build-all
	$(Q)COVE=$(abspath $(COVE)) TINY=$(abspath $(TINY)) tests/lab/run-suite

asan:
	$(MAKE) VARIANT=asan check
ubsan:
	$(MAKE) VARIANT=ubsan check

bench: $(COVE)
	$(Q)guest/build-all
	$(Q)COVE=$(abspath $(COVE)) bench/run

# An interactive level-1 shell in the lab, with this tree shared read-only.
lab-shell: $(COVE)
	$(Q)guest/build-all
	$(Q)tests/lab/lab --interactive

clean:
	rm -rf build/cove build/libcove.a build/src build/tests build/tiny build/asan build/ubsan

-include $(shell find $(BUILD)/src -name '*.d' 2>/dev/null)
