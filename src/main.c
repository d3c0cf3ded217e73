/*
 * cove: the command table. `cove [GLOBAL OPTIONS] VERB ...`: `run` (one VM
 * in the foreground, crosvm style) and the control verbs that talk to a
 * running VM's control socket (`stop`, `balloon`, ...: control/control_cli.h).
 * Exit statuses of `run` are documented in vm/vm_events.h and the README.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/terminal.h"
#include "base/log.h"
#include "config/cli.h"
#include "control/agent_cli.h"
#include "control/control_cli.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

static bool wants_stdin(const struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->num_serials; i++)
		if (cfg->serials[i].stdin)
			return true;
	return false;
}

static int run_vm(struct vm_config *cfg, const struct timespec *start)
{
	static struct vm vm; /* large (vCPU table, CPUID): keep it off the stack */
	int status;

	if (vcpu_signals_init()) {
		log_error("cannot install the vCPU kick signal: %s", strerror(errno));
		return VM_EXIT_START_FAILED;
	}
	if (vm_build(&vm, cfg, start))
		return VM_EXIT_START_FAILED;
	if (wants_stdin(cfg) && terminal_raw_enter(STDIN_FILENO))
		log_warn("cannot put the terminal in raw mode: %s", strerror(errno));
	status = vm_run(&vm);
	vm_destroy(&vm);
	terminal_restore();
	log_info("VM exited with status %d", status);
	return status;
}

static int cmd_run(int argc, char **argv, struct vm_config *cfg, const struct timespec *start)
{
	char err[256];
	int rc = cli_parse_run(argc, argv, cfg, err, sizeof(err));

	if (rc == 1) {
		cli_print_run_help(stdout);
		return 0;
	}
	if (rc < 0) {
		fprintf(stderr, "cove run: %s\n", err);
		return VM_EXIT_START_FAILED;
	}
	return run_vm(cfg, start);
}

static void print_help(FILE *out)
{
	fputs("Usage: cove [GLOBAL OPTIONS] run [OPTIONS] KERNEL   (cove run --help)\n"
	      "       cove [GLOBAL OPTIONS] VERB [ARGS] SOCKET\n"
	      "\n"
	      "Control verbs, for a VM started with `cove run -s SOCKET`:\n",
	      out);
	control_cli_print_help(out);
	fputs("\nGuest agent verbs (a guest running qemu-ga):\n", out);
	agent_cli_print_help(out);
	fputc('\n', out);
	cli_print_global_help(out);
}

int main(int argc, char **argv)
{
	struct vm_config cfg;
	struct timespec start;
	char err[256];
	int verb, rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	signal(SIGPIPE, SIG_IGN); /* a closed output pipe is an error, not a death */
	vm_config_init(&cfg);
	rc = cli_parse_global(argc, argv, &cfg, &verb, err, sizeof(err));
	if (rc == 1 || (rc == 0 && verb >= argc)) {
		print_help(rc == 1 ? stdout : stderr);
		vm_config_free(&cfg);
		return rc == 1 ? 0 : 1;
	}
	if (rc < 0) {
		fprintf(stderr, "cove: %s\n", err);
		vm_config_free(&cfg);
		return 1;
	}
	log_set_level(cfg.log_level);
	log_set_syslog(cfg.syslog);

	if (strcmp(argv[verb], "run") == 0) {
		rc = cmd_run(argc - verb - 1, argv + verb + 1, &cfg, &start);
	} else if (control_cli_is_verb(argv[verb])) {
		rc = control_cli_main(argv[verb], argc - verb - 1, argv + verb + 1);
	} else if (agent_cli_is_verb(argv[verb])) {
		rc = agent_cli_main(argv[verb], argc - verb - 1, argv + verb + 1);
	} else {
		fprintf(stderr,
			"cove: unknown command '%s': expected run or a control verb "
			"(see cove --help)\n",
			argv[verb]);
		rc = 1;
	}
	vm_config_free(&cfg);
	return rc;
}
