/* Unit tests for the `cove` global options and the `cove run` parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cli.h"
#include "config/cmdline.h"
#include "config/shared_dir.h"

#define MAX_ARGS 40

static struct vm_config cfg;
static char err[256];

static int setup(void **state)
{
	(void)state;
	vm_config_init(&cfg);
	memset(err, 0, sizeof(err));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vm_config_free(&cfg);
	return 0;
}

/* An argv of strdup'ed copies (the parsers take char **, like main's). */
struct args {
	int argc;
	char *argv[MAX_ARGS + 1];
};

static void args_build(struct args *a, const char *first, va_list ap)
{
	a->argc = 0;
	for (const char *s = first; s; s = va_arg(ap, const char *)) {
		assert_true(a->argc < MAX_ARGS);
		a->argv[a->argc] = strdup(s);
		assert_non_null(a->argv[a->argc]);
		a->argc++;
	}
	a->argv[a->argc] = NULL;
}

static void args_free(struct args *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
}

/*
 * cli_parse_run over the arguments after `run` (the list ends with NULL),
 * from a fresh config; cfg keeps the result for the checks that follow.
 */
static int run_args(const char *first, ...)
{
	struct args a;
	va_list ap;
	int ret;

	va_start(ap, first);
	args_build(&a, first, ap);
	va_end(ap);
	vm_config_free(&cfg); /* each call starts from the defaults */
	err[0] = '\0';
	ret = cli_parse_run(a.argc, a.argv, &cfg, err, sizeof(err));
	args_free(&a);
	return ret;
}
#define RUN(...) run_args(__VA_ARGS__, NULL)

static int global_args(int *verb, const char *first, ...)
{
	struct args a;
	va_list ap;
	int ret;

	va_start(ap, first);
	args_build(&a, first, ap);
	va_end(ap);
	vm_config_free(&cfg); /* each call starts from the defaults */
	err[0] = '\0';
	*verb = -1;
	ret = cli_parse_global(a.argc, a.argv, &cfg, verb, err, sizeof(err));
	args_free(&a);
	return ret;
}
#define GLOBAL(verb, ...) global_args(verb, __VA_ARGS__, NULL)

/* The call fails with -EINVAL and its message contains every given fragment. */
static void expect_error(int ret, const char *frag1, const char *frag2)
{
	assert_int_equal(ret, -EINVAL);
	if (!strstr(err, frag1) || (frag2 && !strstr(err, frag2)))
		fail_msg("message '%s' lacks '%s' / '%s'", err, frag1, frag2 ? frag2 : "");
	assert_null(strchr(err, '\n'));
}

/* ---- --cpus ---- */

static void test_cpus_forms(void **state)
{
	(void)state;
	assert_int_equal(cfg.num_cpus, 1);
	assert_int_equal(RUN("--cpus=2", "k"), 0);
	assert_int_equal(cfg.num_cpus, 2);
	assert_int_equal(RUN("--cpus", "3", "k"), 0);
	assert_int_equal(cfg.num_cpus, 3);
	assert_int_equal(RUN("--cpus", "num-cores=4", "k"), 0);
	assert_int_equal(cfg.num_cpus, 4);
	assert_int_equal(RUN("--cpus=num-cores=5", "k"), 0);
	assert_int_equal(cfg.num_cpus, 5);
	assert_int_equal(RUN("-c", "6", "k"), 0);
	assert_int_equal(cfg.num_cpus, 6);
	assert_int_equal(RUN("-c=7", "k"), 0);
	assert_int_equal(cfg.num_cpus, 7);
	assert_int_equal(RUN("k", "--cpus", "64"), 0); /* options may follow KERNEL */
	assert_int_equal(cfg.num_cpus, 64);
}

static void test_cpus_bad(void **state)
{
	(void)state;
	expect_error(RUN("--cpus", "0", "k"), "--cpus: invalid value '0' for num-cores",
		     "from 1 to 64");
	expect_error(RUN("--cpus", "65", "k"), "--cpus: invalid value '65'", NULL);
	expect_error(RUN("--cpus", "x", "k"), "--cpus: invalid value 'x' for num-cores", NULL);
	expect_error(RUN("--cpus", "num-cores=x", "k"), "--cpus: invalid value 'x' for num-cores",
		     "expected an integer");
	expect_error(RUN("-c", "-1", "k"), "--cpus: invalid value '-1'", NULL);
	expect_error(RUN("--cpus", "+2", "k"), "--cpus: invalid value '+2'", NULL);
	expect_error(RUN("--cpus", " 2", "k"), "--cpus: invalid value ' 2'", NULL);
	expect_error(RUN("--cpus", "2k", "k"), "--cpus: invalid value '2k'", NULL);
	expect_error(RUN("--cpus", "18446744073709551617", "k"), "--cpus: invalid value", NULL);
	expect_error(RUN("--cpus", "num-cores=2,foo=1", "k"),
		     "--cpus: unknown key 'foo': expected num-cores", NULL);
	expect_error(RUN("--cpus", "num-cores=2,num-cores=3", "k"),
		     "--cpus: key 'num-cores' given twice", NULL);
	expect_error(RUN("--cpus", "2,num-cores=3", "k"), "key 'num-cores' given twice", NULL);
	expect_error(RUN("--cpus", "num-cores", "k"), "--cpus: key 'num-cores' needs a value",
		     NULL);
	expect_error(RUN("--cpus", "clusters=[[0,1],[2,3]]", "k"),
		     "--cpus: key 'clusters' is not supported yet", "expected num-cores");
	expect_error(RUN("--cpus", "", "k"), "--cpus: missing num-cores", NULL);
	expect_error(RUN("--cpus", "2", "--cpus", "3", "k"), "--cpus: given more than once", NULL);
	expect_error(RUN("-c", "2", "--cpus=3", "k"), "--cpus: given more than once", NULL);
	assert_int_equal(cfg.num_cpus, 2); /* the first one was stored */
}

/* ---- --mem ---- */

static void test_mem_forms(void **state)
{
	(void)state;
	assert_int_equal(cfg.mem_mib, 256);
	assert_int_equal(RUN("--mem", "size=512", "k"), 0);
	assert_int_equal(cfg.mem_mib, 512);
	assert_int_equal(RUN("--mem=512", "k"), 0);
	assert_int_equal(cfg.mem_mib, 512);
	assert_int_equal(RUN("--mem", "128", "k"), 0);
	assert_int_equal(cfg.mem_mib, 128);
	assert_int_equal(RUN("-m", "size=1048576", "k"), 0);
	assert_int_equal(cfg.mem_mib, 1048576);
	assert_int_equal(RUN("--mem=size=1", "k"), 0);
	assert_int_equal(cfg.mem_mib, 1);
}

static void test_mem_bad(void **state)
{
	(void)state;
	expect_error(RUN("--mem", "size=0", "k"), "--mem: invalid value '0' for size", NULL);
	expect_error(RUN("--mem", "0", "k"), "--mem: invalid value '0' for size", NULL);
	expect_error(RUN("--mem", "size=1048577", "k"), "--mem: invalid value '1048577'",
		     "to 1048576");
	expect_error(RUN("--mem", "size=512M", "k"), "--mem: invalid value '512M'", NULL);
	expect_error(RUN("--mem", "size=", "k"), "--mem: invalid value '' for size", NULL);
	expect_error(RUN("--mem", "sz=5", "k"), "--mem: unknown key 'sz': expected size", NULL);
	expect_error(RUN("--mem", "99999999999999999999999", "k"), "--mem: invalid value", NULL);
}

/* ---- values missing at the end of argv ---- */

static void test_missing_values(void **state)
{
	(void)state;
	expect_error(RUN("k", "--cpus"), "--cpus: missing value", "num-cores");
	expect_error(RUN("k", "-m"), "--mem: missing value", NULL);
	expect_error(RUN("k", "--initrd"), "--initrd: missing value", "PATH");
	expect_error(RUN("k", "-p"), "--params: missing value", NULL);
	expect_error(RUN("k", "--serial"), "--serial: missing value", NULL);
	expect_error(RUN("k", "--hypervisor"), "--hypervisor: missing value", NULL);
	expect_error(RUN("k", "-s"), "--socket: missing value", NULL);
	expect_error(RUN("k", "--name"), "--name: missing value", NULL);
	expect_error(RUN("k", "--protected-vm-with-firmware"),
		     "--protected-vm-with-firmware: missing value", NULL);
	expect_error(RUN("--initrd=", "k"), "--initrd: missing value: expected PATH", NULL);
	expect_error(RUN("--name", "", "k"), "--name: missing value", NULL);
}

/* ---- --params, --initrd, --name, --socket, switches ---- */

static void test_params_in_order(void **state)
{
	(void)state;
	assert_int_equal(RUN("-p", "rw", "--params=root=/dev/vda", "k", "--params", "quiet a=b"),
			 0);
	assert_int_equal(cfg.num_params, 3);
	assert_string_equal(cfg.params[0], "rw");
	assert_string_equal(cfg.params[1], "root=/dev/vda");
	assert_string_equal(cfg.params[2], "quiet a=b");
}

static void test_params_bad(void **state)
{
	static char p_opt[] = "-p", x_val[] = "x", kernel[] = "k";
	char *argv[2 * VM_CONFIG_MAX_PARAMS + 3];
	int argc = 0;

	(void)state;
	expect_error(RUN("--params", "a\nb", "k"), "--params: character 0x0a is not allowed", NULL);
	expect_error(RUN("--params", "caf\xc3\xa9", "k"), "--params: character 0xc3", NULL);

	for (int i = 0; i <= VM_CONFIG_MAX_PARAMS; i++) {
		argv[argc++] = p_opt;
		argv[argc++] = x_val;
	}
	argv[argc++] = kernel;
	vm_config_free(&cfg);
	expect_error(cli_parse_run(argc, argv, &cfg, err, sizeof(err)),
		     "--params: given more than 64 times", NULL);
}

static void test_strings_and_switches(void **state)
{
	(void)state;
	assert_false(cfg.disable_sandbox || cfg.no_rng || cfg.no_balloon);
	assert_int_equal(RUN("-i", "/boot/initrd.img", "--name", "vm1", "-s", "/run/vm1.sock",
			     "--disable-sandbox", "--no-rng", "--no-balloon", "--no-rng",
			     "/boot/vmlinuz"),
			 0);
	assert_string_equal(cfg.initrd_path, "/boot/initrd.img");
	assert_string_equal(cfg.name, "vm1");
	assert_string_equal(cfg.socket_path, "/run/vm1.sock");
	assert_string_equal(cfg.kernel_path, "/boot/vmlinuz");
	assert_true(cfg.disable_sandbox && cfg.no_rng && cfg.no_balloon);
	assert_int_equal(RUN("--initrd=/a=b", "--socket=/s", "k"), 0); /* split at the first '=' */
	assert_string_equal(cfg.initrd_path, "/a=b");
	assert_string_equal(cfg.socket_path, "/s");
	expect_error(RUN("--no-rng=true", "k"), "--no-rng: takes no value", NULL);
	assert_false(cfg.balloon_page_reporting || cfg.balloon_deflate_on_oom);
	assert_int_equal(RUN("--balloon-page-reporting", "--balloon-deflate-on-oom", "k"), 0);
	assert_true(cfg.balloon_page_reporting && cfg.balloon_deflate_on_oom);
	expect_error(RUN("--initrd", "a", "-i", "b", "k"), "--initrd: given more than once", NULL);
}

/* ---- KERNEL ---- */

static void test_kernel_positional(void **state)
{
	(void)state;
	expect_error(RUN("--cpus", "2"), "missing KERNEL", "cove run --help");
	expect_error(RUN("a", "b"), "unexpected argument 'b'", "KERNEL is already 'a'");
	expect_error(RUN("", "--cpus", "1"), "KERNEL: missing value", NULL);
	assert_int_equal(RUN("--", "-odd-name"), 0);
	assert_string_equal(cfg.kernel_path, "-odd-name");
	assert_int_equal(RUN("-"), 0); /* a lone '-' is positional */
	assert_string_equal(cfg.kernel_path, "-");
	expect_error(RUN("--", "a", "--cpus"), "unexpected argument '--cpus'", NULL);
}

/* ---- unknown options, --help ---- */

static void test_unknown_option(void **state)
{
	(void)state;
	assert_int_equal(RUN("--foo", "k"), -EINVAL);
	assert_string_equal(err, "unknown option '--foo' (see cove run --help)");
	expect_error(RUN("--foo=bar", "k"), "unknown option '--foo' (see", NULL);
	expect_error(RUN("-x", "k"), "unknown option '-x'", NULL);
	expect_error(RUN("-c2", "k"), "unknown option '-c2'", NULL);
	expect_error(RUN("--cpu", "2", "k"), "unknown option '--cpu'", NULL);
	expect_error(RUN("--rwdisk", "disk.img", "k"), "unknown option '--rwdisk'", NULL);
	expect_error(RUN("--log-level", "debug", "k"), "unknown option '--log-level'", NULL);
}

static void test_help(void **state)
{
	(void)state;
	assert_int_equal(RUN("--help"), 1);
	assert_int_equal(RUN("-h"), 1);
	assert_int_equal(RUN("--cpus", "2", "--help", "--bogus"), 1);
	assert_int_equal(RUN("k", "-h"), 1);
	expect_error(RUN("--help=yes"), "--help: takes no value", NULL);
}

static void test_help_text(void **state)
{
	static const char *const wanted[] = {
	    "Usage: cove [GLOBAL OPTIONS] run [OPTIONS] KERNEL",
	    "-c, --cpus [num-cores=]N",
	    "-m, --mem [size=]MIB",
	    "-i, --initrd PATH",
	    "-p, --params STR",
	    "--serial KEY=VAL,...",
	    "--hypervisor kvm[device=PATH]",
	    "--disable-sandbox",
	    "--no-rng",
	    "--no-balloon",
	    "--balloon-page-reporting",
	    "--balloon-deflate-on-oom",
	    "-s, --socket PATH",
	    "--name NAME",
	    "--protected-vm ",
	    "--protected-vm-without-firmware",
	    "--protected-vm-with-firmware PATH",
	    "-h, --help",
	    "-b, --block PATH[,KEY=VAL...]",
	    "block-size=N",
	    "id=NAME",
	    "type=stdout|file|sink",
	    "hardware=serial|virtio-console",
	    "earlycon",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	cli_print_run_help(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!strstr(text, wanted[i]))
			fail_msg("help lacks '%s'", wanted[i]);
	}
	free(text);

	f = open_memstream(&text, &len);
	assert_non_null(f);
	cli_print_global_help(f);
	fclose(f);
	assert_non_null(strstr(text, "--log-level LEVEL"));
	assert_non_null(strstr(text, "--no-syslog"));
	assert_non_null(strstr(text, "--syslog-tag TAG"));
	assert_non_null(strstr(text, "--extended-status"));
	free(text);
}

/* ---- --serial ---- */

static void test_default_serial(void **state)
{
	(void)state;
	assert_int_equal(RUN("k"), 0);
	assert_int_equal(cfg.num_serials, 1);
	assert_int_equal(cfg.serials[0].type, SERIAL_TYPE_STDOUT);
	assert_int_equal(cfg.serials[0].hw, SERIAL_HW_UART);
	assert_int_equal(cfg.serials[0].num, 1);
	assert_true(cfg.serials[0].console);
	assert_true(cfg.serials[0].stdin);
	assert_false(cfg.serials[0].earlycon);
	assert_null(cfg.serials[0].path);
	assert_string_equal(cfg.kvm_device, "/dev/kvm");
}

/* The seeds' serial pair: hvc0 is the console and reads stdin, COM1 is earlycon. */
static void test_seed_serials(void **state)
{
	(void)state;
	assert_int_equal(RUN("--serial=type=stdout,hardware=virtio-console,console,stdin,num=1",
			     "--serial=type=stdout,hardware=serial,earlycon,num=1", "Image"),
			 0);
	assert_int_equal(cfg.num_serials, 2); /* a console exists: no default COM1 */
	assert_int_equal(cfg.serials[0].type, SERIAL_TYPE_STDOUT);
	assert_int_equal(cfg.serials[0].hw, SERIAL_HW_VIRTIO_CONSOLE);
	assert_int_equal(cfg.serials[0].num, 1);
	assert_true(cfg.serials[0].console && cfg.serials[0].stdin);
	assert_false(cfg.serials[0].earlycon);
	assert_int_equal(cfg.serials[1].type, SERIAL_TYPE_STDOUT);
	assert_int_equal(cfg.serials[1].hw, SERIAL_HW_UART);
	assert_int_equal(cfg.serials[1].num, 1);
	assert_true(cfg.serials[1].earlycon);
	assert_false(cfg.serials[1].console || cfg.serials[1].stdin);
}

static void test_serial_defaults_and_values(void **state)
{
	(void)state;
	assert_int_equal(RUN("--serial", "", "--serial", "num=2,console=false,stdin=false",
			     "--serial", "type=file,path=\"/tmp/a,b\",num=3,console=true",
			     "--serial", "hardware=legacy-virtio-console,num=8", "k"),
			 0);
	assert_int_equal(cfg.num_serials, 4);
	assert_int_equal(cfg.serials[0].type, SERIAL_TYPE_SINK);
	assert_int_equal(cfg.serials[0].hw, SERIAL_HW_UART);
	assert_int_equal(cfg.serials[0].num, 1);
	assert_int_equal(cfg.serials[1].num, 2);
	assert_false(cfg.serials[1].console || cfg.serials[1].stdin);
	assert_int_equal(cfg.serials[2].type, SERIAL_TYPE_FILE);
	assert_string_equal(cfg.serials[2].path, "/tmp/a,b");
	assert_true(cfg.serials[2].console);
	assert_int_equal(cfg.serials[3].hw, SERIAL_HW_VIRTIO_CONSOLE);
	assert_int_equal(cfg.serials[3].num, 8);
}

/* crosvm adds the default console only if COM1 is free. */
static void test_default_serial_com1_taken(void **state)
{
	(void)state;
	assert_int_equal(RUN("--serial", "type=stdout,earlycon", "k"), 0);
	assert_int_equal(cfg.num_serials, 1);
	assert_false(cfg.serials[0].console);
	/* COM1 free but stdin taken: COM1 becomes the console without stdin. */
	assert_int_equal(RUN("--serial", "hardware=virtio-console,stdin", "k"), 0);
	assert_int_equal(cfg.num_serials, 2);
	assert_int_equal(cfg.serials[1].hw, SERIAL_HW_UART);
	assert_int_equal(cfg.serials[1].num, 1);
	assert_true(cfg.serials[1].console);
	assert_false(cfg.serials[1].stdin);
}

static void test_serial_bad(void **state)
{
	(void)state;
	assert_int_equal(RUN("--serial", "foo", "k"), -EINVAL);
	assert_string_equal(err, "--serial: unknown key 'foo': expected type, hardware, num, path, "
				 "console, earlycon, stdin, name");
	expect_error(RUN("--serial", "type=stdout,foo=1", "k"), "--serial: unknown key 'foo'",
		     NULL);
	expect_error(RUN("--serial", "type=stdout,path=/tmp/x", "k"),
		     "--serial: path is only valid with type=file, unix-stream or dev", NULL);
	expect_error(RUN("--serial", "type=file", "k"), "--serial: type=file needs path=FILE",
		     NULL);
	expect_error(RUN("--serial", "type=file,path=", "k"), "--serial: missing value", NULL);
	expect_error(RUN("--serial", "type=file,path", "k"), "--serial: missing value", NULL);
	expect_error(RUN("--serial", "stdin", "--serial", "num=2,stdin", "k"),
		     "--serial: stdin is given to two serial ports", NULL);
	expect_error(RUN("--serial", "earlycon", "--serial", "num=2,earlycon", "k"),
		     "--serial: earlycon is given to two serial ports", NULL);
	expect_error(RUN("--serial", "hardware=virtio-console,earlycon", "k"),
		     "--serial: earlycon needs hardware=serial", NULL);
	expect_error(RUN("--serial", "num=5", "k"), "--serial: invalid value '5' for num",
		     "1 to 4 with hardware=serial");
	expect_error(RUN("--serial", "num=0", "k"), "--serial: invalid value '0' for num", NULL);
	expect_error(RUN("--serial", "num=256", "k"), "--serial: invalid value '256' for num",
		     NULL);
	expect_error(RUN("--serial", "hardware=virtio-console,num=9", "k"),
		     "--serial: invalid value '9' for num", "hardware=virtio-console");
	expect_error(RUN("--serial", "num=2", "--serial", "type=stdout,num=2", "k"),
		     "--serial: hardware=serial,num=2 is configured twice", NULL);
	expect_error(RUN("--serial", "hardware=virtio-console",
			 "--serial=hardware=legacy-virtio-console", "k"),
		     "hardware=virtio-console,num=1 is configured twice", NULL);
	expect_error(RUN("--serial", "type=syslog", "k"),
		     "--serial: type=syslog is not supported yet",
		     "stdout, file, sink, unix-stream, pty or dev");
	expect_error(RUN("--serial", "type=unix,path=/s", "k"), "type=unix is not supported yet",
		     NULL);
	expect_error(RUN("--serial", "type=bogus", "k"), "--serial: invalid value 'bogus' for type",
		     NULL);
	expect_error(RUN("--serial", "type", "k"), "--serial: key 'type' needs a value", NULL);
	expect_error(RUN("--serial", "hardware=debugcon", "k"),
		     "hardware=debugcon is not supported yet", NULL);
	expect_error(RUN("--serial", "hardware=uart", "k"), "invalid value 'uart' for hardware",
		     "serial or virtio-console");
	expect_error(RUN("--serial", "console=yes", "k"),
		     "--serial: invalid value 'yes' for console", "true or false");
	expect_error(RUN("--serial", "console,console", "k"), "--serial: key 'console' given twice",
		     NULL);
	expect_error(RUN("--serial", "input=/dev/null", "k"),
		     "--serial: key 'input' is not supported yet", NULL);
	expect_error(RUN("--serial", "type=stdout,,console", "k"), "--serial: empty item", NULL);
	expect_error(RUN("--serial", "path=\"/tmp/x", "k"), "--serial: missing closing", NULL);
	assert_int_equal(cfg.num_serials, 0);
}

/* Named channels on virtio-console: the command lines. */
static void test_serial_named_channels(void **state)
{
	(void)state;
	assert_int_equal(
	    RUN("--serial=type=stdout,hardware=virtio-console,console,stdin,num=1",
		"--serial=type=unix-stream,path=/run/a.sock,hardware=virtio-console,"
		"name=org.qemu.guest_agent.0",
		"--serial=type=pty,hardware=virtio-console,name=org.test.pty",
		"--serial=type=dev,path=/dev/ttyS1,hardware=virtio-console,name=uart,num=4",
		"--serial=type=file,path=/tmp/f,hardware=virtio-console,name=con,console,num=3", "k"),
	    0);
	assert_int_equal(cfg.num_serials, 5);
	assert_int_equal(cfg.serials[1].type, SERIAL_TYPE_UNIX_STREAM);
	assert_string_equal(cfg.serials[1].path, "/run/a.sock");
	assert_string_equal(cfg.serials[1].name, SERIAL_AGENT_PORT);
	assert_int_equal(cfg.serials[1].num, 0); /* no num: after the numbered ports */
	assert_false(cfg.serials[1].console);
	assert_int_equal(cfg.serials[2].type, SERIAL_TYPE_PTY);
	assert_null(cfg.serials[2].path);
	assert_int_equal(cfg.serials[2].num, 0);
	assert_int_equal(cfg.serials[3].type, SERIAL_TYPE_DEV);
	assert_int_equal(cfg.serials[3].num, 4);
	/* A named console keeps num's default and is hvc<num-1>. */
	assert_true(cfg.serials[4].console);
	assert_int_equal(cfg.serials[4].num, 3);
	assert_int_equal(RUN("--serial=hardware=virtio-console,name=c,console", "k"), 0);
	assert_int_equal(cfg.serials[0].num, 1);
}

static void test_serial_named_channels_bad(void **state)
{
	char longname[SERIAL_NAME_MAX + 8] = "name=";

	(void)state;
	expect_error(RUN("--serial", "type=unix-stream,hardware=virtio-console,name=a", "k"),
		     "--serial: type=unix-stream needs path=SOCKET", NULL);
	expect_error(RUN("--serial", "type=dev,hardware=virtio-console", "k"),
		     "--serial: type=dev needs path=DEVICE", NULL);
	expect_error(RUN("--serial", "type=pty,path=/dev/pts/1,hardware=virtio-console", "k"),
		     "--serial: path is only valid with", NULL);
	expect_error(RUN("--serial", "type=pty", "k"), "--serial: type=pty needs hardware=virtio-console",
		     NULL);
	expect_error(RUN("--serial", "type=unix-stream,path=/s", "k"),
		     "--serial: type=unix-stream needs hardware=virtio-console", NULL);
	expect_error(RUN("--serial", "name=x", "k"), "--serial: name needs hardware=virtio-console",
		     NULL);
	expect_error(RUN("--serial", "type=pty,hardware=virtio-console,stdin", "k"),
		     "--serial: stdin cannot be given to type=pty", NULL);
	expect_error(RUN("--serial", "hardware=virtio-console,name=a/b", "k"),
		     "--serial: invalid name 'a/b'", "without spaces or '/'");
	expect_error(RUN("--serial", "hardware=virtio-console,name=\"a b\"", "k"),
		     "--serial: invalid name 'a b'", NULL);
	expect_error(RUN("--serial", "hardware=virtio-console,name=", "k"), "--serial: ", NULL);
	memset(longname + 5, 'n', SERIAL_NAME_MAX + 1);
	longname[5 + SERIAL_NAME_MAX + 1] = '\0';
	expect_error(RUN("--serial", "hardware=virtio-console", "--serial", longname, "k"),
		     "--serial: invalid name: expected 1 to 127 characters", NULL);
	expect_error(RUN("--serial", "hardware=virtio-console,name=a",
			 "--serial=hardware=virtio-console,name=a", "k"),
		     "--serial: name=a is given to two ports", NULL);
	/* Two unnumbered channels do not collide on num. */
	assert_int_equal(RUN("--serial", "hardware=virtio-console,name=a",
			     "--serial=hardware=virtio-console,name=b", "k"),
			 0);
	/* A console after a named non-console port would not be hvc<num-1>. */
	expect_error(RUN("--serial", "hardware=virtio-console,name=a,num=1",
			 "--serial=type=stdout,hardware=virtio-console,console,num=2", "k"),
		     "hardware=virtio-console,num=2 is a console after the named port num=1",
		     "hvc1");
	assert_int_equal(RUN("--serial", "hardware=virtio-console,name=a,num=2",
			     "--serial=type=stdout,hardware=virtio-console,console,num=1", "k"),
			 0);
}

static void test_serial_too_many(void **state)
{
	(void)state;
	expect_error(
	    RUN("--serial=num=1", "--serial=num=2", "--serial=num=3", "--serial=num=4",
		"--serial=hardware=virtio-console,num=1", "--serial=hardware=virtio-console,num=2",
		"--serial=hardware=virtio-console,num=3", "--serial=hardware=virtio-console,num=4",
		"--serial=hardware=virtio-console,num=5", "k"),
	    "--serial: too many serial ports: at most 8", NULL);
}

/* ---- --block ---- */

static void expect_disk(unsigned int i, const char *path, bool ro, bool root, const char *id)
{
	assert_true(i < cfg.num_disks);
	assert_string_equal(cfg.disks[i].path, path);
	assert_int_equal(cfg.disks[i].ro, ro);
	assert_int_equal(cfg.disks[i].root, root);
	assert_string_equal(cfg.disks[i].id, id);
}

static void test_block_forms(void **state)
{
	(void)state;
	assert_int_equal(RUN("--block", "disk.img", "k"), 0);
	assert_int_equal(cfg.num_disks, 1);
	expect_disk(0, "disk.img", false, false, "");
	/* crosvm's defaults */
	assert_true(cfg.disks[0].lock && cfg.disks[0].sparse);
	assert_false(cfg.disks[0].direct);
	assert_int_equal(cfg.disks[0].block_size, 512);

	assert_int_equal(RUN("--block", "path=/a/b.img,ro", "-b", "c.img,root,id=serial-1",
			     "--block=d.img,ro=false,root=false", "k"),
			 0);
	assert_int_equal(cfg.num_disks, 3);
	expect_disk(0, "/a/b.img", true, false, "");
	expect_disk(1, "c.img", false, true, "serial-1");
	expect_disk(2, "d.img", false, false, "");

	assert_int_equal(RUN("--block", "e.img,direct,lock=false,sparse=false,block-size=4096",
			     "--block", "f.img,o_direct=true,lock=true,sparse,block_size=512",
			     "--block", "ro,path=\"g,h.img\"", "k"),
			 0);
	assert_true(cfg.disks[0].direct && !cfg.disks[0].lock && !cfg.disks[0].sparse);
	assert_int_equal(cfg.disks[0].block_size, 4096);
	assert_true(cfg.disks[1].direct && cfg.disks[1].lock && cfg.disks[1].sparse);
	assert_int_equal(cfg.disks[1].block_size, 512);
	expect_disk(2, "g,h.img", true, false, ""); /* keys may come before path= */

	/* an id of exactly 20 characters; the largest block size */
	assert_int_equal(RUN("--block", "a,id=ABCDEFGHIJ0123456789", "--block",
			     "b,block-size=65536", "k"),
			 0);
	assert_string_equal(cfg.disks[0].id, "ABCDEFGHIJ0123456789");
	assert_int_equal(cfg.disks[1].block_size, 65536);
}

/* root=/dev/vdX after the console, before --params; ro or rw. */
static void test_block_root_cmdline(void **state)
{
	char line[512];

	(void)state;
	assert_int_equal(RUN("--params", "quiet", "--block", "a.img", "--block", "b.img,root,ro",
			     "k"),
			 0);
	assert_int_equal(cmdline_build(&cfg, line, sizeof(line)), 0);
	assert_string_equal(line, "console=ttyS0 root=/dev/vdb ro quiet");
	assert_int_equal(RUN("--block", "a.img,root", "k"), 0);
	assert_int_equal(cmdline_build(&cfg, line, sizeof(line)), 0);
	assert_string_equal(line, "console=ttyS0 root=/dev/vda rw");
	assert_int_equal(RUN("--block", "a.img", "k"), 0);
	assert_int_equal(cmdline_build(&cfg, line, sizeof(line)), 0);
	assert_string_equal(line, "console=ttyS0");
}

static void test_block_many(void **state)
{
	char *args[VM_CONFIG_MAX_DISKS * 2 + 4];
	int n = 0;

	(void)state;
	/* 26 disks fit (vda..vdz), the 27th does not */
	vm_config_free(&cfg);
	for (int i = 0; i < VM_CONFIG_MAX_DISKS; i++) {
		args[n++] = strdup("--block");
		assert_true(asprintf(&args[n++], "disk%d.img", i) > 0);
	}
	args[n] = strdup("k");
	args[n + 1] = NULL;
	assert_int_equal(cli_parse_run(n + 1, args, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.num_disks, VM_CONFIG_MAX_DISKS);
	assert_string_equal(cfg.disks[25].path, "disk25.img");
	vm_config_free(&cfg);
	free(args[n]);
	args[n++] = strdup("--block");
	args[n++] = strdup("one-too-many.img");
	args[n++] = strdup("k");
	args[n] = NULL;
	assert_int_equal(cli_parse_run(n, args, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--block: too many disks: at most 26 (vda to vdz)");
	for (int i = 0; i < n; i++)
		free(args[i]);
}

static void test_block_bad(void **state)
{
	(void)state;
	assert_int_equal(RUN("--block", "d.img,foo", "k"), -EINVAL);
	assert_string_equal(err, "--block: unknown key 'foo': expected ro, root, id, direct, lock, "
				 "sparse, block-size");
	expect_error(RUN("--block", "d.img,foo=1", "k"), "--block: unknown key 'foo'", NULL);
	expect_error(RUN("--block", "d.img,bootindex=1", "k"),
		     "--block: key 'bootindex' is not supported yet: expected ro,", NULL);
	expect_error(RUN("--block", "d.img,async-executor=uring", "k"),
		     "key 'async-executor' is not supported yet", NULL);
	/* the bare path must come first */
	expect_error(RUN("--block", "ro,d.img", "k"), "--block: unknown key 'd.img'", NULL);
	expect_error(RUN("--block", "", "k"), "--block: missing PATH: expected PATH[,ro]", NULL);
	expect_error(RUN("--block", "ro", "k"), "--block: missing PATH", NULL);
	expect_error(RUN("--block", "path=", "k"), "--block: missing value: expected path=PATH",
		     NULL);
	expect_error(RUN("--block", "path", "k"), "--block: missing value", NULL);
	expect_error(RUN("--block", "a.img,path=b.img", "k"), "--block: the path given twice",
		     NULL);
	expect_error(RUN("--block", "a.img,direct,o_direct", "k"), "--block: direct given twice",
		     NULL);
	expect_error(RUN("--block", "a.img,block-size=512,block_size=512", "k"),
		     "--block: block-size given twice", NULL);
	expect_error(RUN("--block", "a.img,ro=yes", "k"),
		     "--block: invalid value 'yes' for ro: expected true or false", NULL);
	expect_error(RUN("--block", "a.img,lock=1", "k"), "invalid value '1' for lock", NULL);
	expect_error(RUN("--block", "a.img,sparse=no", "k"), "invalid value 'no' for sparse",
		     NULL);
	expect_error(RUN("--block", "a.img,root=maybe", "k"), "invalid value 'maybe' for root",
		     NULL);
	expect_error(RUN("--block", "a.img,direct=0", "k"), "invalid value '0' for direct", NULL);
	/* id */
	expect_error(RUN("--block", "a.img,id=ABCDEFGHIJ0123456789X", "k"),
		     "--block: invalid value 'ABCDEFGHIJ0123456789X' for id: expected 1 to 20 "
		     "printable ASCII characters",
		     NULL);
	expect_error(RUN("--block", "a.img,id=", "k"), "invalid value '' for id", NULL);
	expect_error(RUN("--block", "a.img,id", "k"), "key 'id' needs a value", NULL);
	expect_error(RUN("--block", "a.img,id=caf\xc3\xa9", "k"), "for id: expected 1 to 20", NULL);
	expect_error(RUN("--block", "a.img,id=a\tb", "k"), "for id: expected 1 to 20", NULL);
	/* block-size */
	expect_error(RUN("--block", "a.img,block-size=1000", "k"),
		     "--block: invalid value '1000' for block-size: expected a power of two from "
		     "512 to 65536",
		     NULL);
	expect_error(RUN("--block", "a.img,block-size=256", "k"),
		     "invalid value '256' for block-size: expected an integer from 512 to 65536",
		     NULL);
	expect_error(RUN("--block", "a.img,block_size=131072", "k"),
		     "invalid value '131072' for block_size", NULL);
	expect_error(RUN("--block", "a.img,block-size=4k", "k"), "invalid value '4k'", NULL);
	expect_error(RUN("--block", "a.img,block-size", "k"), "key 'block-size' needs a value",
		     NULL);
	/* list syntax */
	expect_error(RUN("--block", "a.img,,ro", "k"), "--block: empty item in the list", NULL);
	expect_error(RUN("--block", "path=\"a.img", "k"), "--block: missing closing", NULL);
	/* at most one root */
	expect_error(RUN("--block", "a.img,root", "--block", "b.img,root", "k"),
		     "--block: root is given to two disks (vda is root already)", NULL);
	/* a missing value at the end of argv */
	expect_error(RUN("k", "--block"), "--block", NULL);
}

/* ---- --hypervisor, protected VMs ---- */

static void test_hypervisor(void **state)
{
	(void)state;
	assert_int_equal(RUN("--hypervisor", "kvm", "k"), 0);
	assert_string_equal(cfg.kvm_device, "/dev/kvm");
	assert_int_equal(RUN("--hypervisor", "kvm[device=/dev/kvm]", "k"), 0);
	assert_string_equal(cfg.kvm_device, "/dev/kvm");
	assert_int_equal(RUN("--hypervisor=kvm[device=/tmp/kvm2]", "k"), 0);
	assert_string_equal(cfg.kvm_device, "/tmp/kvm2");
	assert_int_equal(RUN("--hypervisor", "kvm[]", "k"), 0);
	assert_string_equal(cfg.kvm_device, "/dev/kvm");
}

static void test_hypervisor_bad(void **state)
{
	(void)state;
	assert_int_equal(RUN("--hypervisor", "gunyah", "k"), -EINVAL);
	assert_string_equal(
	    err, "--hypervisor: 'gunyah' is not supported by this build: supported: kvm");
	expect_error(RUN("--hypervisor", "gunyah[device=/dev/gunyah]", "k"),
		     "'gunyah' is not supported", NULL);
	expect_error(RUN("--hypervisor", "kvmx", "k"), "--hypervisor: 'kvmx' is not supported",
		     NULL);
	expect_error(RUN("--hypervisor", "", "k"), "--hypervisor: missing hypervisor name", NULL);
	expect_error(RUN("--hypervisor", "kvm[device=/dev/kvm", "k"),
		     "--hypervisor: invalid value 'kvm[device=/dev/kvm'", NULL);
	expect_error(RUN("--hypervisor", "kvm[foo=1]", "k"),
		     "--hypervisor: unknown key 'foo': expected device", NULL);
	expect_error(RUN("--hypervisor", "kvm[device]", "k"),
		     "--hypervisor: key 'device' needs a value", NULL);
	expect_error(RUN("--hypervisor", "kvm[device=]", "k"), "--hypervisor: missing value", NULL);
	expect_error(RUN("--hypervisor", "kvm[device=/a]]", "k"), "--hypervisor: unbalanced ']'",
		     NULL);
	expect_error(RUN("--hypervisor", "kvm", "--hypervisor", "kvm", "k"),
		     "--hypervisor: given more than once", NULL);
}

static void test_protected_vm(void **state)
{
	(void)state;
	expect_error(RUN("--protected-vm", "k"),
		     "--protected-vm: protected VMs are not available with KVM on x86_64", NULL);
	expect_error(RUN("--protected-vm-without-firmware", "k"),
		     "--protected-vm-without-firmware: protected VMs are not available", NULL);
	expect_error(RUN("--protected-vm-with-firmware", "/fw.bin", "k"),
		     "--protected-vm-with-firmware: protected VMs are not available", NULL);
}

/* ---- global options ---- */

static void test_global_options(void **state)
{
	int verb;

	(void)state;
	assert_int_equal(cfg.log_level, LOG_LEVEL_WARN);
	assert_true(cfg.syslog);
	assert_int_equal(GLOBAL(&verb, "cove", "--log-level=debug", "--no-syslog", "run", "k"), 0);
	assert_int_equal(verb, 3);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_false(cfg.syslog);
	assert_int_equal(GLOBAL(&verb, "cove", "--log-level", "debug,disk=off", "--extended-status",
				"--syslog-tag", "x", "stop", "--log-level"),
			 0);
	assert_int_equal(verb, 6);
	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_true(cfg.syslog);
	assert_int_equal(GLOBAL(&verb, "cove", "--log-level=off", "list"), 0);
	assert_int_equal(cfg.log_level, LOG_LEVEL_OFF);
	assert_int_equal(verb, 2);
	assert_int_equal(GLOBAL(&verb, "cove", "--log-level=trace", "list"), 0);
	assert_int_equal(cfg.log_level, LOG_LEVEL_TRACE);
	assert_int_equal(GLOBAL(&verb, "cove", "run"), 0);
	assert_int_equal(verb, 1);
	assert_int_equal(GLOBAL(&verb, "cove", "--", "run"), 0);
	assert_int_equal(verb, 2);
	assert_int_equal(GLOBAL(&verb, "cove"), 0);
	assert_int_equal(verb, 1); /* argc: no verb */
	assert_int_equal(GLOBAL(&verb, "cove", "--no-syslog"), 0);
	assert_int_equal(verb, 2);
}

static void test_global_bad(void **state)
{
	int verb;

	(void)state;
	assert_int_equal(GLOBAL(&verb, "cove", "--help", "run"), 1);
	assert_int_equal(GLOBAL(&verb, "cove", "-h"), 1);
	expect_error(GLOBAL(&verb, "cove", "--log-level", "loud", "run"),
		     "--log-level: invalid value 'loud'", "off, error, warn, info, debug or trace");
	expect_error(GLOBAL(&verb, "cove", "--log-level", "disk=off", "run"),
		     "--log-level: invalid value", NULL);
	expect_error(GLOBAL(&verb, "cove", "--log-level"), "--log-level: missing value", NULL);
	expect_error(GLOBAL(&verb, "cove", "--no-syslog=false", "run"),
		     "--no-syslog: takes no value", NULL);
	assert_int_equal(GLOBAL(&verb, "cove", "--cpus", "2", "run"), -EINVAL);
	assert_string_equal(err, "unknown option '--cpus' (see cove --help)");
}

/* The seeds' whole command line, with kvm for gunyah, through both parsers. */
static void test_seed_command_line(void **state)
{
	static const char *const seed[] = {
	    "crosvm",
	    "--log-level=debug",
	    "--no-syslog",
	    "run",
	    "--disable-sandbox",
	    "--hypervisor",
	    "kvm",
	    "--cpus",
	    "num-cores=2",
	    "--mem",
	    "size=512",
	    "--serial=type=stdout,hardware=virtio-console,console,stdin,num=1",
	    "--serial=type=stdout,hardware=serial,earlycon,num=1",
	    "--initrd",
	    "/var/gunyah/initrd.img",
	    "--no-balloon",
	    "--no-rng",
	    "--params",
	    "rw root=/dev/ram earlyprintk=serial panic=0",
	    "/var/gunyah/Image"};
	struct args a = {0};
	char line[2049];
	int verb;

	(void)state;
	for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++)
		a.argv[a.argc++] = strdup(seed[i]);
	/* As main does: global options, then the arguments after the verb. */
	assert_int_equal(cli_parse_global(a.argc, a.argv, &cfg, &verb, err, sizeof(err)), 0);
	assert_int_equal(verb, 3);
	assert_string_equal(a.argv[verb], "run");
	assert_int_equal(
	    cli_parse_run(a.argc - verb - 1, a.argv + verb + 1, &cfg, err, sizeof(err)), 0);
	args_free(&a);

	assert_int_equal(cfg.log_level, LOG_LEVEL_DEBUG);
	assert_false(cfg.syslog);
	assert_true(cfg.disable_sandbox && cfg.no_balloon && cfg.no_rng);
	assert_int_equal(cfg.num_cpus, 2);
	assert_int_equal(cfg.mem_mib, 512);
	assert_string_equal(cfg.initrd_path, "/var/gunyah/initrd.img");
	assert_string_equal(cfg.kernel_path, "/var/gunyah/Image");
	assert_string_equal(cfg.kvm_device, "/dev/kvm");
	assert_int_equal(cfg.num_serials, 2);
	assert_int_equal(cmdline_build(&cfg, line, sizeof(line)), 0);
	assert_string_equal(line, "console=hvc0 earlycon=uart8250,io,0x3f8 rw root=/dev/ram "
				  "earlyprintk=serial panic=0");

	/* The seeds' own line names gunyah and a pKVM mode: the first error wins. */
	expect_error(RUN("--disable-sandbox", "--hypervisor", "gunyah",
			 "--protected-vm-without-firmware", "/var/gunyah/Image"),
		     "--hypervisor: 'gunyah' is not supported by this build", NULL);
}

/* ---- --net and --vsock ---- */

static void test_net_forms(void **state)
{
	const struct net_config *n;

	(void)state;
	assert_int_equal(RUN("--net", "tap-name=tap0", "--net",
			     "tap-name=tap1,mac=52:54:00:AB:cd:01,vq-pairs=4,mrg_rxbuf",
			     "--net=tap-fd=5,vhost-net", "--net",
			     "tap-name=t3,vhost-net=[device=/dev/vh]", "k"),
			 0);
	assert_int_equal(cfg.num_nics, 4);
	n = &cfg.nics[0];
	assert_string_equal(n->tap_name, "tap0");
	assert_int_equal(n->tap_fd, -1);
	assert_false(n->has_mac || n->mrg_rxbuf || n->vhost);
	assert_int_equal(n->vq_pairs, 1);
	n = &cfg.nics[1];
	assert_true(n->has_mac && n->mrg_rxbuf);
	assert_memory_equal(n->mac, ((uint8_t[]){0x52, 0x54, 0, 0xab, 0xcd, 1}), 6);
	assert_int_equal(n->vq_pairs, 4);
	n = &cfg.nics[2];
	assert_null(n->tap_name);
	assert_int_equal(n->tap_fd, 5);
	assert_true(n->vhost);
	assert_null(n->vhost_device);
	n = &cfg.nics[3];
	assert_true(n->vhost);
	assert_string_equal(n->vhost_device, "/dev/vh");
}

static void test_net_bad(void **state)
{
	(void)state;
	expect_error(RUN("--net", "mac=52:54:00:00:00:01", "k"), "--net: missing tap", NULL);
	expect_error(RUN("--net", "tap-name=a,tap-fd=3", "k"), "exclusive", NULL);
	expect_error(RUN("--net", "tap-fd=3,vq-pairs=2", "k"), "vq-pairs=2 needs tap-name", NULL);
	expect_error(RUN("--net", "tap-name=a,vq-pairs=0", "k"), "invalid value '0' for vq-pairs",
		     NULL);
	expect_error(RUN("--net", "tap-name=a,vq-pairs=17", "k"), "vq-pairs", NULL);
	expect_error(RUN("--net", "tap-name=a,mac=52:54:00:00:00", "k"), "invalid value", "mac");
	expect_error(RUN("--net", "tap-name=a,mac=52:54:00:00:00:0g", "k"), "invalid value",
		     NULL);
	expect_error(RUN("--net", "tap-name=a,mac=52-54-00-00-00-01", "k"), "invalid value", NULL);
	expect_error(RUN("--net", "tap-name=a,mac=01:00:5e:00:00:01", "k"), "multicast", NULL);
	expect_error(RUN("--net", "tap-name=averyveryverylongname", "k"), "tap-name", NULL);
	expect_error(RUN("--net", "tap-name=a/b", "k"), "tap-name", NULL);
	expect_error(RUN("--net", "tap-name=a", "--net", "tap-name=a", "k"), "given twice", NULL);
	expect_error(RUN("--net", "tap-name=a,host-ip=1.2.3.4", "k"), "not supported yet", NULL);
	expect_error(RUN("--net", "tap-name=a,bogus", "k"), "unknown key 'bogus'", NULL);
	expect_error(RUN("--net", "tap-name=a,vhost-net=[dev=/x]", "k"), "unknown key 'dev'",
		     NULL);
	expect_error(RUN("--net", "tap-name=a,vhost-net=[device=/x", "k"), "--net:", NULL);
	expect_error(RUN("--net", "tap-name=t0", "--net", "tap-name=t1", "--net", "tap-name=t2",
			 "--net", "tap-name=t3", "--net", "tap-name=t4", "--net", "tap-name=t5",
			 "--net", "tap-name=t6", "--net", "tap-name=t7", "--net", "tap-name=t8",
			 "k"),
		     "at most 8 NICs", NULL);
}

static void test_vsock_forms_and_bad(void **state)
{
	(void)state;
	assert_int_equal(RUN("--vsock", "cid=3,uds-path=/tmp/v.sock", "k"), 0);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.cid, 3);
	assert_string_equal(cfg.vsock.uds_path, "/tmp/v.sock");
	assert_null(cfg.vsock.vhost_device);
	assert_int_equal(RUN("--vsock", "cid=4294967294,device=/dev/vhost-vsock", "k"), 0);
	assert_int_equal(cfg.vsock.cid, 4294967294ULL);
	assert_string_equal(cfg.vsock.vhost_device, "/dev/vhost-vsock");
	assert_int_equal(RUN("k"), 0);
	assert_false(cfg.vsock.enabled);
	expect_error(RUN("--vsock", "cid=0", "k"), "cid=0 is reserved", "3 or above");
	expect_error(RUN("--vsock", "cid=1", "k"), "cid=1 is reserved", NULL);
	expect_error(RUN("--vsock", "cid=2,uds-path=/x", "k"), "cid=2 is reserved", NULL);
	expect_error(RUN("--vsock", "cid=4294967295", "k"), "out of range", NULL);
	expect_error(RUN("--vsock", "uds-path=/x", "k"), "--vsock: missing cid", NULL);
	expect_error(RUN("--vsock", "cid=3,uds-path=/x,device=/y", "k"), "exclusive", NULL);
	expect_error(RUN("--vsock", "cid=3", "--vsock", "cid=4", "k"), "--vsock", NULL);
	expect_error(RUN("--vsock", "cid=3,uds-path=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "k"),
		     "uds-path is too long", NULL);
	expect_error(RUN("--vsock", "cid=3,max-queue-sizes=[1,2,3]", "k"), "not supported yet",
		     NULL);
}

/* ---- --shared-dir ---- */

static void test_shared_dir_forms(void **state)
{
	const struct shared_dir_config *sd;

	(void)state;
	assert_int_equal(RUN("--shared-dir", "/tmp:hostshare", "k"), 0);
	assert_int_equal(cfg.num_shared_dirs, 1);
	sd = &cfg.shared_dirs[0];
	assert_string_equal(sd->path, "/tmp");
	assert_string_equal(sd->tag, "hostshare");
	assert_false(sd->ro);
	assert_int_equal(sd->fmode, 0600);
	assert_int_equal(sd->dmode, 0700);
	assert_int_equal(sd->msize, SHARED_DIR_MSIZE_DEFAULT);
	assert_int_equal(sd->uidmap.n, 0);
	assert_int_equal(RUN("--shared-dir", "/tmp:a:type=p9:security_model=passthrough",
			     "--shared-dir=/:b:type=9p:security-model=mapped:fmode=644:dmode=755:ro",
			     "--shared-dir", "/tmp:c:security_model=mapped-file:ro=false:msize=4096",
			     "--shared-dir",
			     "/tmp:d:security_model=none:uidmap=0 1000 1,1 100000 65535:gidmap=0 0 10",
			     "--shared-dir", "/tmp:e:security_model=mapped-xattr", "k"),
			 0);
	assert_int_equal(cfg.num_shared_dirs, 5);
	assert_int_equal(cfg.shared_dirs[0].model, SHARED_DIR_PASSTHROUGH);
	sd = &cfg.shared_dirs[1];
	assert_int_equal(sd->model, SHARED_DIR_MAPPED_XATTR);
	assert_true(sd->ro);
	assert_int_equal(sd->fmode, 0644);
	assert_int_equal(sd->dmode, 0755);
	sd = &cfg.shared_dirs[2];
	assert_int_equal(sd->model, SHARED_DIR_MAPPED_FILE);
	assert_false(sd->ro);
	assert_int_equal(sd->msize, 4096);
	sd = &cfg.shared_dirs[3];
	assert_int_equal(sd->model, SHARED_DIR_NONE);
	assert_int_equal(sd->uidmap.n, 2);
	assert_int_equal(sd->uidmap.r[1].inner, 1);
	assert_int_equal(sd->uidmap.r[1].outer, 100000);
	assert_int_equal(sd->uidmap.r[1].count, 65535);
	assert_int_equal(sd->gidmap.n, 1);
	assert_int_equal(cfg.shared_dirs[4].model, SHARED_DIR_MAPPED_XATTR);
	assert_string_equal(vm_config_shared_dir_model_name(SHARED_DIR_MAPPED_FILE), "mapped-file");
}

static void test_shared_dir_accessmode(void **state)
{
	enum shared_dir_model m;

	(void)state;
	assert_int_equal(shared_dir_model_from_accessmode("passthrough", &m), 0);
	assert_int_equal(m, SHARED_DIR_PASSTHROUGH);
	assert_int_equal(shared_dir_model_from_accessmode("mapped", &m), 0);
	assert_int_equal(m, SHARED_DIR_MAPPED_XATTR);
	assert_int_equal(shared_dir_model_from_accessmode("squash", &m), 0);
	assert_int_equal(m, SHARED_DIR_NONE);
	assert_int_equal(shared_dir_model_from_accessmode("mapped-file", &m), -EINVAL);
}

static void test_shared_dir_bad(void **state)
{
	(void)state;
	expect_error(RUN("--shared-dir", "/nonexistent/dir:t", "k"),
		     "--shared-dir: cannot share '/nonexistent/dir': No such file or directory: "
		     "expected an existing directory",
		     NULL);
	expect_error(RUN("--shared-dir", "/etc/passwd:t", "k"),
		     "--shared-dir: '/etc/passwd' is not a directory", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:colour=blue", "k"),
		     "--shared-dir: unknown key 'colour': expected type, security_model, ro, fmode, "
		     "dmode, uidmap, gidmap, msize",
		     NULL);
	expect_error(RUN("--shared-dir", "/tmp", "k"), "--shared-dir: missing TAG", NULL);
	expect_error(RUN("--shared-dir", "/tmp:", "k"), "--shared-dir: missing TAG", NULL);
	expect_error(RUN("--shared-dir", ":t", "k"), "--shared-dir: missing PATH", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t::ro", "k"), "--shared-dir: empty item", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:type=fs", "k"), "type=fs is not supported", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:cache=always", "k"),
		     "key 'cache' is not supported by Cove's virtio-9p", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:uid=0", "k"), "key 'uid' is not supported", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:security_model=squash", "k"),
		     "invalid value 'squash' for security_model: expected passthrough, "
		     "mapped-xattr, mapped-file or none",
		     NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:fmode=8", "k"), "invalid value '8' for fmode",
		     NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:dmode=17777", "k"), "for dmode", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:msize=100", "k"),
		     "invalid value '100' for msize: expected an integer from 4096 to 8388608", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:uidmap=0 1", "k"), "for uidmap", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:uidmap=0 1 0", "k"), "for uidmap", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:gidmap=4294967295 0 2", "k"), "for gidmap", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:ro:ro", "k"), "--shared-dir: ro given twice", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t:ro=yes", "k"), "invalid value 'yes' for ro", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t t", "k"), "invalid tag 't t'", NULL);
	expect_error(RUN("--shared-dir", "/tmp:t", "--shared-dir", "/:t", "k"),
		     "--shared-dir: tag 't' is given to two shared directories", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_net_forms),
	    T(test_net_bad),
	    T(test_vsock_forms_and_bad),
	    T(test_cpus_forms),
	    T(test_cpus_bad),
	    T(test_mem_forms),
	    T(test_mem_bad),
	    T(test_missing_values),
	    T(test_params_in_order),
	    T(test_params_bad),
	    T(test_strings_and_switches),
	    T(test_kernel_positional),
	    T(test_unknown_option),
	    T(test_help),
	    T(test_help_text),
	    T(test_default_serial),
	    T(test_seed_serials),
	    T(test_serial_defaults_and_values),
	    T(test_default_serial_com1_taken),
	    T(test_serial_bad),
	    T(test_serial_named_channels),
	    T(test_serial_named_channels_bad),
	    T(test_serial_too_many),
	    T(test_block_forms),
	    T(test_block_root_cmdline),
	    T(test_block_many),
	    T(test_block_bad),
	    T(test_shared_dir_forms),
	    T(test_shared_dir_bad),
	    T(test_shared_dir_accessmode),
	    T(test_hypervisor),
	    T(test_hypervisor_bad),
	    T(test_protected_vm),
	    T(test_global_options),
	    T(test_global_bad),
	    T(test_seed_command_line),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
