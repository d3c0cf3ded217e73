/*
 * The `cove` command line in crosvm's grammar (crosvm src/main.rs,
 * src/crosvm/cmdline.rs; digest in reference/protocols.md section 1):
 *
 *   cove [GLOBAL OPTIONS] VERB ...
 *   cove [GLOBAL OPTIONS] run [OPTIONS] KERNEL
 *
 * Global options come before the verb. An option written `--opt=value` (or
 * `-c=2`) is split at its first '=' into `--opt value`. Struct-valued options
 * take crosvm's comma-separated key=value lists (see keyval.h). KERNEL is the
 * single positional argument of `run`; `--` ends the options.
 *
 * The parsers only fill a struct vm_config: they open no files and change no
 * global state (the caller applies cfg->log_level and cfg->syslog). Whatever
 * they return, cfg owns the strings stored so far: release them with
 * vm_config_free(). Error messages are one line, without a trailing newline
 * or a "cove:" prefix, naming the option and what it expects.
 */
#ifndef COVE_CONFIG_CLI_H
#define COVE_CONFIG_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "base/compiler.h"
#include "config/vm_config.h"

/*
 * Parses the global options argv[1..] up to the verb (argv[0] is the
 * program name): --log-level LEVEL (off|error|warn|info|debug|trace; of
 * crosvm's "debug,disk=off" only the first comma field counts),
 * --no-syslog, --syslog-tag TAG (accepted, ignored), --extended-status
 * (accepted: Cove always exits with the extended statuses), -h/--help.
 * Sets *verb_index to the index of the verb (the first argument that is no
 * option), or to argc when there is none.
 * Returns 0, 1 when --help was given (print the usage; *verb_index is then
 * unspecified), or -EINVAL with one line in err.
 */
must_check int cli_parse_global(int argc, char **argv, struct vm_config *cfg, int *verb_index,
				char *err, size_t errlen);

/*
 * Parses the arguments after `run` (argv[0] is the first of them, not "run")
 * and then completes cfg with vm_config_finish() (default console, KVM
 * device path). cfg must have been through vm_config_init() (and may carry
 * the global options). Returns 0, 1 when --help was given (print
 * cli_print_run_help(); cfg is not finished), or -EINVAL / -ENOMEM with one
 * line in err.
 */
must_check int cli_parse_run(int argc, char **argv, struct vm_config *cfg, char *err,
			     size_t errlen);

/* `cove run --help`: the usage line and one line per option. */
void cli_print_run_help(FILE *out);

/* The global options, one line each, for the caller's `cove --help`. */
void cli_print_global_help(FILE *out);

#endif
