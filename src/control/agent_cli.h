/*
 * The guest agent verbs of `cove`, talking to a running VM's control socket
 * (docs/control-protocol.md, "The guest agent"):
 *
 *   cove agent [--timeout SECS] [--pretty] SOCKET JSON
 *       sends one guest agent command (virsh qemu-agent-command) and prints
 *       the agent's answer on one line (--pretty: indented). Exit status 0
 *       for {"return":...}, 1 for {"error":...} (printed too) and for a
 *       failure (one line on stderr: not JSON, no answer in time, ...).
 *
 *   cove exec [--timeout SECS] [-e NAME[=VALUE]]... SOCKET [--] CMD [ARG...]
 *       runs CMD in the guest as virt-exec does: guest-exec with captured
 *       output (and Cove's stdin as its input when stdin is not a
 *       terminal), guest-exec-status until it exited, then the guest's
 *       stdout and stderr on Cove's own; exits with the command's status
 *       (128 + N when signal N killed it, 127 when the agent could not start
 *       it, 1 for a failure of Cove's or the agent's).
 *
 * --timeout bounds each agent command (default 10 s for agent, 30 s for
 * each of exec's commands; the guest command itself may run for as long as
 * it likes).
 */
#ifndef COVE_CONTROL_AGENT_CLI_H
#define COVE_CONTROL_AGENT_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* True for "agent" and "exec". */
bool agent_cli_is_verb(const char *verb);

/* Runs the verb with argv[0..argc) (the words after it); returns the exit status. */
int agent_cli_main(const char *verb, int argc, char **argv);

/* The verbs, one line each, for `cove --help`. */
void agent_cli_print_help(FILE *out);

#endif
