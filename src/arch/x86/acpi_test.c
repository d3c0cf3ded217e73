/*
 * Unit tests for the x86 ACPI tables. The tests read the tables through
 * raw offsets taken from the ACPI 6.5 spec, independently of acpi.c's
 * structs, and walk them the way a guest does: RSDP -> XSDT -> tables,
 * FADT -> DSDT. When iasl (acpica-tools) is installed, the last test also
 * has it disassemble and recompile every table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four headers it needs */

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "base/log.h"

#define BASE 0xe0000ULL
#define BUF_SIZE (64 * 1024)

static uint8_t buf[BUF_SIZE];

static struct acpi_config test_config(unsigned int num_cpus)
{
	return (struct acpi_config){
	    .num_cpus = num_cpus,
	    .base_gpa = BASE,
	    .ioapic_addr = 0xfec00000,
	    .ioapic_id = 0,
	    .lapic_addr = 0xfee00000,
	    .sleep_ctrl_port = 0x3c0,
	    .sleep_status_port = 0x3c1,
	    .reset_port = 0xcf9,
	    .reset_value = 0x06,
	    .pvpanic_port = 0x505,
	    .cmos_rtc = true,
	    .num_uarts = 2,
	    .uarts = {{0x3f8, 4}, {0x2f8, 3}},
	};
}

static size_t build(const struct acpi_config *cfg)
{
	size_t used = 0;

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(acpi_build(cfg, buf, sizeof(buf), &used), 0);
	assert_true(used > 0 && used <= ACPI_TABLES_MAX_SIZE);
	return used;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}
static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/*
 * The table a guest-physical address points at, after checking that it lies
 * inside the built bytes, is 16-byte aligned, has a sane length, a zero byte
 * sum and Cove's OEM fields.
 */
static const uint8_t *table_at(uint64_t gpa, size_t used)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= BASE && gpa - BASE + 36 <= used);
	assert_int_equal(gpa % 16, 0);
	t = buf + (gpa - BASE);
	len = rd32(t + 4);
	assert_true(len >= 36 && gpa - BASE + len <= used);
	assert_int_equal(sum_bytes(t, len), 0);
	assert_memory_equal(t + 10, "COVE  ", 6);
	assert_memory_equal(t + 16, "COVEVM  ", 8);
	assert_memory_equal(t + 28, "COVE", 4);
	return t;
}

static const uint8_t *xsdt_of(size_t used)
{
	const uint8_t *x = table_at(rd64(buf + 24), used);

	assert_memory_equal(x, "XSDT", 4);
	assert_int_equal(x[8], 1);
	return x;
}

/* The table with signature `sig` listed in the XSDT, or NULL. */
static const uint8_t *find_table(const char *sig, size_t used)
{
	const uint8_t *x = xsdt_of(used);

	for (uint32_t off = 36; off < rd32(x + 4); off += 8) {
		const uint8_t *t = table_at(rd64(x + off), used);

		if (memcmp(t, sig, 4) == 0)
			return t;
	}
	return NULL;
}

static const uint8_t *dsdt_of(size_t used)
{
	const uint8_t *fadt = find_table("FACP", used);
	const uint8_t *d;

	assert_non_null(fadt);
	assert_int_equal(rd32(fadt + 40), 0); /* 32-bit DSDT unused */
	d = table_at(rd64(fadt + 140), used);
	assert_memory_equal(d, "DSDT", 4);
	assert_int_equal(d[8], 2);
	return d;
}

static void test_rsdp(void **state)
{
	(void)state;
	struct acpi_config cfg = test_config(2);
	size_t used = build(&cfg);

	assert_memory_equal(buf, "RSD PTR ", 8);
	assert_int_equal(sum_bytes(buf, 20), 0); /* ACPI 1.0 checksum */
	assert_int_equal(sum_bytes(buf, 36), 0); /* extended checksum */
	assert_memory_equal(buf + 9, "COVE  ", 6);
	assert_int_equal(buf[15], 2);	      /* revision */
	assert_int_equal(rd32(buf + 16), 0);  /* no RSDT */
	assert_int_equal(rd32(buf + 20), 36); /* length */
	assert_int_equal(buf[33] | buf[34] | buf[35], 0);
	/* XSDT address = base_gpa + its offset in the buffer. */
	uint64_t xsdt = rd64(buf + 24);
	assert_true(xsdt > BASE && xsdt < BASE + used);
	assert_memory_equal(buf + (xsdt - BASE), "XSDT", 4);
}

static void test_xsdt_lists_fadt_then_madt(void **state)
{
	(void)state;
	struct acpi_config cfg = test_config(2);
	size_t used = build(&cfg);
	const uint8_t *x = xsdt_of(used);

	assert_int_equal(rd32(x + 4), 36 + 2 * 8);
	assert_memory_equal(table_at(rd64(x + 36), used), "FACP", 4);
	assert_memory_equal(table_at(rd64(x + 44), used), "APIC", 4);
	(void)dsdt_of(used);
}

static void test_fadt(void **state)
{
	(void)state;
	struct acpi_config cfg = test_config(2);
	size_t used = build(&cfg);
	const uint8_t *f = find_table("FACP", used);

	assert_non_null(f);
	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(f[8], 6);	    /* major revision */
	assert_int_equal(f[131], 5);	    /* minor revision: ACPI 6.5 */
	assert_int_equal(rd32(f + 36), 0);  /* no FACS */
	assert_int_equal(rd64(f + 132), 0); /* no X_FACS */
	assert_int_equal(rd16(f + 46), 0);  /* no SCI */

	uint32_t flags = rd32(f + 112);
	assert_true(flags & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10)); /* RESET_REG_SUP */
	assert_false(flags & (1u << 4)); /* no fixed power button */
	assert_false(flags & (1u << 5)); /* no fixed sleep button */

	/* RESET_REG: system I/O, 8 bits at offset 0, byte access. */
	assert_memory_equal(f + 116, ((const uint8_t[]){1, 8, 0, 1}), 4);
	assert_int_equal(rd64(f + 120), 0xcf9);
	assert_int_equal(f[128], 0x06);
	/* SLEEP_CONTROL_REG and SLEEP_STATUS_REG, likewise. */
	assert_memory_equal(f + 244, ((const uint8_t[]){1, 8, 0, 1}), 4);
	assert_int_equal(rd64(f + 248), 0x3c0);
	assert_memory_equal(f + 256, ((const uint8_t[]){1, 8, 0, 1}), 4);
	assert_int_equal(rd64(f + 260), 0x3c1);
	/* Legacy PM blocks all empty (offsets 46-108 and 148-243). */
	for (int i = 46; i <= 108; i++)
		assert_int_equal(f[i], 0);
	for (int i = 148; i < 244; i++)
		assert_int_equal(f[i], 0);
}

static uint16_t boot_flags_for(bool i8042, bool cmos_rtc, unsigned int num_uarts)
{
	struct acpi_config cfg = test_config(1);
	size_t used;

	cfg.i8042 = i8042;
	cfg.cmos_rtc = cmos_rtc;
	cfg.num_uarts = num_uarts;
	used = build(&cfg);
	return rd16(find_table("FACP", used) + 109);
}

static void test_fadt_boot_flags(void **state)
{
	(void)state;
	/* bit 0 legacy devices, 1 8042, 2 no VGA, 3 no MSI, 4 no ASPM, 5 no CMOS RTC */
	assert_int_equal(boot_flags_for(false, true, 2), 0x01 | 0x04 | 0x10);
	assert_int_equal(boot_flags_for(true, true, 2), 0x01 | 0x02 | 0x04 | 0x10);
	assert_int_equal(boot_flags_for(false, false, 0), 0x04 | 0x10 | 0x20);
	assert_int_equal(boot_flags_for(false, false, 1), 0x01 | 0x04 | 0x10 | 0x20);
}

static void check_madt(unsigned int num_cpus)
{
	struct acpi_config cfg = test_config(num_cpus);
	size_t used = build(&cfg);
	const uint8_t *m = find_table("APIC", used);
	unsigned int lapics = 0, ioapics = 0, overrides = 0, nmis = 0;
	uint32_t len;

	assert_non_null(m);
	len = rd32(m + 4);
	assert_int_equal(len, 44 + 8 * num_cpus + 12 + 10 + 6);
	assert_int_equal(m[8], 6);
	assert_int_equal(rd32(m + 36), 0xfee00000);
	assert_int_equal(rd32(m + 40), 0); /* no PCAT_COMPAT */

	for (uint32_t off = 44; off < len; off += m[off + 1]) {
		const uint8_t *e = m + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0: /* processor local APIC: uid, id, enabled */
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);
			assert_int_equal(e[3], lapics);
			assert_int_equal(rd32(e + 4), 1);
			lapics++;
			break;
		case 1: /* IOAPIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);
			assert_int_equal(rd32(e + 4), 0xfec00000);
			assert_int_equal(rd32(e + 8), 0);
			ioapics++;
			break;
		case 2: /* ISA IRQ0 -> GSI 2, edge, active high */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);
			assert_int_equal(e[3], 0);
			assert_int_equal(rd32(e + 4), 2);
			assert_int_equal(rd16(e + 8), 0x5);
			overrides++;
			break;
		case 4: /* local APIC NMI: all processors, LINT1 */
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_int_equal(lapics, num_cpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(overrides, 1);
	assert_int_equal(nmis, 1);
}

static void test_madt(void **state)
{
	(void)state;
	check_madt(1);
	check_madt(2);
	check_madt(64);
	check_madt(ACPI_MAX_CPUS);
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

/*
 * The exact DSDT body (after the 36-byte header) for one COM port, the RTC
 * and pvpanic. iasl -d of these bytes gives:
 *   Name (_S5, Package (0x04) { 0x05, Zero, Zero, Zero })
 *   Scope (\_SB) {
 *     Device (COM1) { Name (_HID, EisaId ("PNP0501")) Name (_UID, One)
 *       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x03F8, 0x03F8,
 *         0x01, 0x08, ) IRQNoFlags () {4} }) }
 *     Device (RTC) { Name (_HID, EisaId ("PNP0B00"))
 *       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0070, 0x0070,
 *         0x01, 0x02, ) IRQNoFlags () {8} }) }
 *     Device (PEVT) { Name (_HID, "QEMU0001")
 *       Name (_CRS, ResourceTemplate () { IO (Decode16, 0x0505, 0x0505,
 *         0x01, 0x01, ) })
 *       Method (_STA, 0, NotSerialized) { Return (0x0F) } } }
 */
static void test_dsdt_golden(void **state)
{
	(void)state;
	/* clang-format off */
	static const uint8_t want[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
		0x10, 0x4e, 0x08, 0x5c, '_', 'S', 'B', '_',
		0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
		0x08, '_', 'U', 'I', 'D', 0x01,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,
		0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x0e,
		0x5b, 0x82, 0x25, 'R', 'T', 'C', '_',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0b, 0x00,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,
		0x47, 0x01, 0x70, 0x00, 0x70, 0x00, 0x01, 0x02, 0x22, 0x00, 0x01, 0x79, 0x39,
		0x5b, 0x82, 0x31, 'P', 'E', 'V', 'T',
		0x08, '_', 'H', 'I', 'D', 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00,
		0x08, '_', 'C', 'R', 'S', 0x11, 0x0d, 0x0a, 0x0a,
		0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01, 0x79, 0x29,
		0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f,
	};
	/* clang-format on */
	struct acpi_config cfg = test_config(1);
	size_t used;
	const uint8_t *d;

	cfg.num_uarts = 1;
	used = build(&cfg);
	d = dsdt_of(used);
	assert_int_equal(rd32(d + 4), 36 + sizeof(want));
	assert_memory_equal(d + 36, want, sizeof(want));
}

static void test_dsdt_devices_follow_config(void **state)
{
	(void)state;
	static const uint8_t pnp0501[] = {0x0c, 0x41, 0xd0, 0x05, 0x01};
	static const uint8_t pnp0b00[] = {0x0c, 0x41, 0xd0, 0x0b, 0x00};
	static const uint8_t com4_io[] = {0x47, 0x01, 0xe8, 0x02, 0xe8, 0x02, 0x01, 0x08};
	struct acpi_config cfg = test_config(1);
	const uint8_t *d;
	uint32_t len;
	size_t used;

	cfg.num_uarts = 4;
	cfg.uarts[2] = (struct acpi_uart){0x3e8, 4};
	cfg.uarts[3] = (struct acpi_uart){0x2e8, 3};
	used = build(&cfg);
	d = dsdt_of(used);
	len = rd32(d + 4);
	for (int i = 1; i <= 4; i++) {
		char name[5];

		snprintf(name, sizeof(name), "COM%d", i);
		assert_true(contains(d, len, name, 4));
	}
	assert_true(contains(d, len, com4_io, sizeof(com4_io)));
	assert_true(contains(d, len, pnp0b00, sizeof(pnp0b00)));
	assert_true(contains(d, len, "QEMU0001", 8));

	cfg.num_uarts = 0;
	cfg.pvpanic_port = 0;
	cfg.cmos_rtc = false;
	used = build(&cfg);
	d = dsdt_of(used);
	len = rd32(d + 4);
	assert_false(contains(d, len, pnp0501, sizeof(pnp0501)));
	assert_false(contains(d, len, pnp0b00, sizeof(pnp0b00)));
	assert_false(contains(d, len, "QEMU0001", 8));
	assert_true(contains(d, len, "_S5_", 4));
}

static void test_s5_value(void **state)
{
	(void)state;
	/* What Linux writes for \_S5 {5, ...}: (SLP_TYPa << 2) & 0x1c | SLP_EN. */
	assert_int_equal(ACPI_SLEEP_CTRL_S5, 0x34);
	assert_int_equal(ACPI_SLEEP_CTRL_TYP(ACPI_SLEEP_CTRL_S5), ACPI_SLEEP_TYP_S5);
	assert_true(ACPI_SLEEP_CTRL_S5 & ACPI_SLEEP_CTRL_SLP_EN);
}

static void test_invalid_config(void **state)
{
	(void)state;
	struct acpi_config bad[9];
	size_t used = 777;

	for (size_t i = 0; i < 9; i++)
		bad[i] = test_config(2);
	bad[0].num_cpus = 0;
	bad[1].num_cpus = ACPI_MAX_CPUS + 1;
	bad[2].base_gpa = BASE + 8;
	bad[3].sleep_ctrl_port = 0;
	bad[4].sleep_status_port = 0;
	bad[5].reset_port = 0;
	bad[6].num_uarts = ACPI_MAX_UARTS + 1;
	bad[7].uarts[1].irq = 16;
	bad[8].base_gpa = UINT64_MAX & ~0xfULL;
	log_set_level(LOG_LEVEL_OFF); /* the errors are expected */
	for (size_t i = 0; i < 9; i++)
		assert_int_equal(acpi_build(&bad[i], buf, sizeof(buf), &used), -EINVAL);
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(used, 777);
}

/*
 * Every length short of what the tables need gives -ENOSPC. Each attempt
 * gets a heap block of exactly that length (so ASan catches any overrun)
 * and a canary check on a larger buffer.
 */
static void test_too_small_is_enospc(void **state)
{
	(void)state;
	struct acpi_config cfg = test_config(4);
	static uint8_t canary[4096];
	size_t need = build(&cfg), used = 777;

	assert_true(need + 64 <= sizeof(canary));
	for (size_t len = 0; len < need; len++) {
		uint8_t *exact = malloc(len ? len : 1);

		assert_non_null(exact);
		assert_int_equal(acpi_build(&cfg, exact, len, &used), -ENOSPC);
		free(exact);
		memset(canary, 0x5a, sizeof(canary));
		assert_int_equal(acpi_build(&cfg, canary, len, &used), -ENOSPC);
		for (size_t i = len; i < sizeof(canary); i++)
			assert_int_equal(canary[i], 0x5a);
	}
	assert_int_equal(used, 777);
	assert_int_equal(acpi_build(&cfg, canary, need, &used), 0);
	assert_int_equal(used, need);
}

static void test_worst_case_fits_and_is_deterministic(void **state)
{
	(void)state;
	static uint8_t first[BUF_SIZE];
	struct acpi_config cfg = test_config(ACPI_MAX_CPUS);
	size_t used;

	cfg.num_uarts = ACPI_MAX_UARTS;
	cfg.uarts[2] = (struct acpi_uart){0x3e8, 4};
	cfg.uarts[3] = (struct acpi_uart){0x2e8, 3};
	used = build(&cfg);
	assert_true(used <= ACPI_TABLES_MAX_SIZE);
	memcpy(first, buf, used);
	assert_int_equal(build(&cfg), used);
	assert_memory_equal(first, buf, used);
}

/* ---- Cross-check with the ACPICA disassembler, when installed ---- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Runs a shell command; returns its exit status and output in out. */
static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int status;

	assert_non_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * iasl -d must decode the table without any warning, and recompiling its
 * output must give 0 errors, warnings and remarks.
 */
static void iasl_roundtrip(const char *dir, const char *name)
{
	static char out[65536];
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat 2>&1", dir, name);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	if (strstr(out, "Warning") || strstr(out, "Error"))
		fail_msg("iasl -d %s:\n%s", name, out);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -oa -p re_%s %s.dsl 2>&1", dir, name, name);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	if (!strstr(out, "0 Errors, 0 Warnings, 0 Remarks"))
		fail_msg("iasl %s.dsl:\n%s", name, out);
}

/*
 * iasl's recompilation of the disassembled DSDT must match the original
 * AML byte for byte, except End Tag checksums (iasl writes 0).
 */
static void compare_dsdt_recompiled(const char *dir, const uint8_t *dsdt)
{
	static uint8_t re[8192];
	char path[256];
	FILE *f;
	size_t n, len = rd32(dsdt + 4);

	snprintf(path, sizeof(path), "%s/re_DSDT.aml", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(re, 1, sizeof(re), f);
	fclose(f);
	assert_int_equal(n, len);
	for (size_t i = 36; i < len; i++) {
		if (re[i] != dsdt[i] && !(re[i] == 0 && re[i - 1] == 0x79))
			fail_msg("DSDT byte %zu: 0x%02x, iasl 0x%02x", i, dsdt[i], re[i]);
	}
}

/* How many times `needle` occurs in the file at dir/name. */
static unsigned int count_in_file(const char *dir, const char *name, const char *needle)
{
	static char text[65536];
	char path[256];
	unsigned int count = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		count++;
	return count;
}

static void test_iasl_accepts_tables(void **state)
{
	(void)state;
	struct acpi_config cfg = test_config(4);
	char dir[] = "/tmp/cove-acpi-XXXXXX", path[256], cmd[300];
	size_t used;

	if (!have_iasl()) {
		print_message("[  SKIPPED ] iasl not installed (apt-get install acpica-tools)\n");
		skip();
	}
	cfg.num_uarts = 4;
	cfg.uarts[2] = (struct acpi_uart){0x3e8, 4};
	cfg.uarts[3] = (struct acpi_uart){0x2e8, 3};
	used = build(&cfg);
	const struct {
		const char *name;
		const uint8_t *table;
	} tables[] = {
	    {"XSDT", xsdt_of(used)},
	    {"FACP", find_table("FACP", used)},
	    {"APIC", find_table("APIC", used)},
	    {"DSDT", dsdt_of(used)},
	};

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		assert_non_null(tables[i].table);
		snprintf(path, sizeof(path), "%s/%s.dat", dir, tables[i].name);
		write_file(path, tables[i].table, rd32(tables[i].table + 4));
		iasl_roundtrip(dir, tables[i].name);
	}
	compare_dsdt_recompiled(dir, dsdt_of(used));
	/* A malformed template would decompile as a plain Buffer: count them. */
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "ResourceTemplate ()"), 4 + 1 + 1);
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "IRQNoFlags ()"), 4 + 1);
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "EisaId (\"PNP0B00\")"), 1);
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "EisaId (\"PNP0501\")"), 4);
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "Name (_HID, \"QEMU0001\")"), 1);
	assert_int_equal(count_in_file(dir, "APIC.dsl", "[Processor Local APIC]"), 4);
	assert_int_equal(count_in_file(dir, "FACP.dsl", "Hardware Reduced (V5) : 1"), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsdp),
	    cmocka_unit_test(test_xsdt_lists_fadt_then_madt),
	    cmocka_unit_test(test_fadt),
	    cmocka_unit_test(test_fadt_boot_flags),
	    cmocka_unit_test(test_madt),
	    cmocka_unit_test(test_dsdt_golden),
	    cmocka_unit_test(test_dsdt_devices_follow_config),
	    cmocka_unit_test(test_s5_value),
	    cmocka_unit_test(test_invalid_config),
	    cmocka_unit_test(test_too_small_is_enospc),
	    cmocka_unit_test(test_worst_case_fits_and_is_deterministic),
	    cmocka_unit_test(test_iasl_accepts_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
