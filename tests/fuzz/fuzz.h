/*
 * The libFuzzer entry point every tests/fuzz/fuzz_NAME.c defines. `make fuzz`
 * links each with libFuzzer (clang); `make fuzz-replay` links each with
 * replay.c and runs it over tests/fuzz/corpus/NAME/ (part of `make check`).
 * A target must never crash, leak or hit undefined behaviour on any input,
 * and returns 0.
 */
#ifndef COVE_TESTS_FUZZ_FUZZ_H
#define COVE_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
