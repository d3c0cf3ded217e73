/* Compiler attributes and small helpers used everywhere. */
#ifndef COVE_BASE_COMPILER_H
#define COVE_BASE_COMPILER_H

#include <stddef.h>

#define must_check __attribute__((warn_unused_result))
#define noreturn_fn __attribute__((noreturn))
#define printf_like(f, a) __attribute__((format(printf, f, a)))
#define unused_param __attribute__((unused))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#endif
