/* Logging to stderr and optionally syslog; see log.h. */
#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

static enum log_level current_level = LOG_LEVEL_WARN;
static bool use_syslog;

static const char *const level_names[] = {
	[LOG_LEVEL_OFF] = "off",     [LOG_LEVEL_ERROR] = "error", [LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",   [LOG_LEVEL_DEBUG] = "debug", [LOG_LEVEL_TRACE] = "trace",
};

int log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

void log_set_syslog(bool on)
{
	if (on && !use_syslog)
		openlog("cove", LOG_PID, LOG_USER);
	use_syslog = on;
}

static void emit(enum log_level level, const char *fmt, va_list ap)
{
	static const int syslog_prio[] = {
		[LOG_LEVEL_ERROR] = LOG_ERR,  [LOG_LEVEL_WARN] = LOG_WARNING, [LOG_LEVEL_INFO] = LOG_INFO,
		[LOG_LEVEL_DEBUG] = LOG_DEBUG, [LOG_LEVEL_TRACE] = LOG_DEBUG,
	};
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* The terminal keeps output processing (OPOST) while stdin is raw,
	 * so "\n" is right on a terminal and on a pipe alike. */
	fprintf(stderr, "cove: %s: %s\n", level_names[level], line);
	if (use_syslog)
		syslog(syslog_prio[level], "%s", line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level == LOG_LEVEL_OFF || level > current_level)
		return;
	va_start(ap, fmt);
	emit(level, fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
