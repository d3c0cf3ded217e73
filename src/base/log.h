/*
 * Logging: one line per message on stderr, prefixed with the level, and
 * optionally to syslog (crosvm's --no-syslog turns that off).
 *
 * die() is for errors before the guest runs: it prints one line and exits
 * with status 1 (crosvm uses 1 for a failed start).
 */
#ifndef COVE_BASE_LOG_H
#define COVE_BASE_LOG_H

#include <stdbool.h>

#include "base/compiler.h"

enum log_level {
	LOG_LEVEL_OFF,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_TRACE,
};

/* Parses "off|error|warn|info|debug|trace"; returns 0 or -EINVAL. */
must_check int log_parse_level(const char *s, enum log_level *out);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_syslog(bool on);

void log_msg(enum log_level level, const char *fmt, ...) printf_like(2, 3);
noreturn_fn void die(const char *fmt, ...) printf_like(1, 2);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * Logs at most once per call site: for guest misbehaviour, which may repeat
 * forever and must not flood the host's logs.
 */
#define log_guest_once(...)                          \
	do {                                         \
		static bool logged_;                 \
		if (!__atomic_exchange_n(&logged_, true, __ATOMIC_RELAXED)) \
			log_msg(LOG_LEVEL_WARN, "guest: " __VA_ARGS__); \
	} while (0)

#endif
