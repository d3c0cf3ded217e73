/*
 * The host terminal while a guest console owns stdin: raw input (the guest
 * gets every key, Ctrl-C included, as crosvm does), output processing kept
 * so that Cove's own log lines stay readable. The original settings come
 * back on every exit path: normal return, exit(), and fatal signals.
 */
#ifndef COVE_BACKENDS_TERMINAL_H
#define COVE_BACKENDS_TERMINAL_H

#include "base/compiler.h"

/* Puts `fd` (stdin) in raw mode if it is a terminal. Returns 0 or -errno. */
must_check int terminal_raw_enter(int fd);
/* Restores the saved settings; idempotent and async-signal-safe. */
void terminal_restore(void);

#endif
