/*
 * The control verbs of `cove`, crosvm style, each talking to a running
 * VM's control socket (docs/control-protocol.md):
 *
 *   cove stop SOCKET           hard stop (`cove run` exits 0)
 *   cove powerbtn SOCKET       ACPI power button: the guest shuts down
 *   cove suspend SOCKET        pause the vCPUs
 *   cove resume SOCKET         resume them
 *   cove balloon SIZE SOCKET   put SIZE bytes in the balloon (K, M, G, T
 *                              suffixes: powers of 1024)
 *   cove balloon_stats SOCKET  balloon statistics, JSON on stdout
 *   cove status SOCKET         the VM's state, JSON on stdout
 *
 * Success prints nothing (but the JSON of the two query verbs) and exits
 * 0; a failure prints one line on stderr and exits 1.
 */
#ifndef COVE_CONTROL_CONTROL_CLI_H
#define COVE_CONTROL_CONTROL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/compiler.h"

/* True if `verb` is one of the control verbs. */
bool control_cli_is_verb(const char *verb);

/*
 * Runs control verb `verb` with its arguments argv[0..argc) (the words
 * after the verb). Returns the process exit status.
 */
int control_cli_main(const char *verb, int argc, char **argv);

/* The verbs, one line each, for `cove --help`. */
void control_cli_print_help(FILE *out);

/*
 * Parses a size: decimal digits with an optional K, M, G or T suffix
 * (binary multiples, case-insensitive, "KiB"/"MB" spellings accepted).
 * Returns 0 or -EINVAL (not a size, or over 2^64 - 1).
 */
must_check int control_cli_parse_size(const char *s, uint64_t *out);

#endif
