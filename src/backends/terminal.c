/* Raw terminal mode with restore on every exit path; see terminal.h. */
#include "backends/terminal.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static int saved_fd = -1;

void terminal_restore(void)
{
	int fd = __atomic_exchange_n(&saved_fd, -1, __ATOMIC_SEQ_CST);

	if (fd >= 0)
		tcsetattr(fd, TCSANOW, &saved);
}

/* Crash signals: restore, then die of the same signal (default action). */
static void on_fatal_signal(int sig)
{
	terminal_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_fatal_handlers(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigaction(fatal[i], &sa, NULL);
}

int terminal_raw_enter(int fd)
{
	struct termios raw;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &saved) < 0)
		return -errno;
	raw = saved;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR; /* keep "\n" -> "\r\n" for output */
	saved_fd = fd;
	atexit(terminal_restore);
	install_fatal_handlers();
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		saved_fd = -1;
		return -errno;
	}
	return 0;
}
