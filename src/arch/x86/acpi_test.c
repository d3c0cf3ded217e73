/*
 * Unit tests for the x86 ACPI tables. The tests read the tables through
 * raw offsets taken from the ACPI 6.5 spec, independently of acpi.c's
 * structs, and walk them the way a guest does: RSDP -> XSDT -> tables,
 * FADT -> DSDT. When acpica-tools is installed, iasl also disassembles and
 * recompiles every table, and acpiexec runs the host bridge's _OSC.
 *
 * To look at the tables by hand: COVE_ACPI_DUMP=DIR build/tests/arch/x86/acpi_test
 * leaves the tables of the iasl test (*.dat) and their disassembly (*.dsl)
 * in DIR.
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

#define ECAM_BASE 0xe0000000ULL
#define MMIO32_BASE 0xc0000000ULL
#define MMIO32_SIZE 0x20000000ULL
#define MMIO64_BASE 0x140000000ULL
#define MMIO64_SIZE 0x1000000000ULL

/* test_config() plus the PCI host bridge of Cove's x86 layout. */
static struct acpi_config pci_config(unsigned int num_cpus)
{
	struct acpi_config cfg = test_config(num_cpus);

	cfg.pci = true;
	cfg.ecam_base = ECAM_BASE;
	cfg.ecam_size = 1 << 20;
	cfg.mmio32_base = MMIO32_BASE;
	cfg.mmio32_size = MMIO32_SIZE;
	cfg.mmio64_base = MMIO64_BASE;
	cfg.mmio64_size = MMIO64_SIZE;
	cfg.intx_gsi_base = 16;
	cfg.intx_gsi_count = 8;
	return cfg;
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

/* The power button and its Generic Event Device, only when asked for. */
static void test_dsdt_power_button(void **state)
{
	(void)state;
	static const uint8_t pnp0c0c[] = {0x0c, 0x41, 0xd0, 0x0c, 0x0c};
	/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {5} */
	static const uint8_t irq5[] = {0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00};
	/* Method (_EVT, 1) { Notify (PWRB, 0x80) } */
	static const uint8_t evt[] = {0x14, 0x0d, '_', 'E', 'V', 'T', 0x01, 0x86,
				      'P', 'W', 'R', 'B', 0x0a, 0x80};
	struct acpi_config cfg = test_config(1);
	const uint8_t *d;
	uint32_t len;

	d = dsdt_of(build(&cfg));
	len = rd32(d + 4);
	assert_false(contains(d, len, "ACPI0013", 8));
	assert_false(contains(d, len, pnp0c0c, sizeof(pnp0c0c)));

	cfg.power_button = true;
	cfg.power_button_gsi = 5;
	d = dsdt_of(build(&cfg));
	len = rd32(d + 4);
	assert_true(contains(d, len, "ACPI0013", 8));
	assert_true(contains(d, len, "GED0", 4));
	assert_true(contains(d, len, pnp0c0c, sizeof(pnp0c0c)));
	assert_true(contains(d, len, irq5, sizeof(irq5)));
	assert_true(contains(d, len, evt, sizeof(evt)));
}

static void check_mcfg(uint64_t ecam_size, unsigned int end_bus)
{
	struct acpi_config cfg = pci_config(2);
	const uint8_t *x, *m;
	size_t used;

	cfg.ecam_size = ecam_size;
	used = build(&cfg);
	x = xsdt_of(used);
	assert_int_equal(rd32(x + 4), 36 + 3 * 8); /* FADT, MADT, MCFG */
	m = table_at(rd64(x + 52), used);	   /* checksum checked there */
	assert_memory_equal(m, "MCFG", 4);
	assert_int_equal(rd32(m + 4), 44 + 16);
	assert_int_equal(m[8], 1);
	assert_int_equal(rd64(m + 36), 0); /* reserved */
	assert_int_equal(rd64(m + 44), ECAM_BASE);
	assert_int_equal(rd16(m + 52), 0); /* segment */
	assert_int_equal(m[54], 0);	   /* start bus */
	assert_int_equal(m[55], end_bus);
	assert_int_equal(rd32(m + 56), 0); /* reserved */
}

static void test_mcfg(void **state)
{
	(void)state;
	check_mcfg(1 << 20, 0);
	check_mcfg(2 << 20, 1);
	check_mcfg(256 << 20, 255);
}

static void test_no_pci_no_mcfg(void **state)
{
	(void)state;
	struct acpi_config cfg = test_config(2);
	size_t used;
	const uint8_t *d;

	cfg.ecam_size = 12345; /* ignored without pci */
	used = build(&cfg);
	assert_null(find_table("MCFG", used));
	d = dsdt_of(used);
	assert_false(contains(d, rd32(d + 4), "PCI0", 4));
	assert_false(contains(d, rd32(d + 4), "MBRD", 4));
}

/* Decodes one AML integer (ZeroOp, OneOp or a prefixed constant) at *p. */
static uint64_t aml_int(const uint8_t **p)
{
	static const unsigned int sizes[] = {[0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8};
	uint8_t op = *(*p)++;
	uint64_t v = 0;

	if (op <= 0x01)
		return op;
	assert_true(op < sizeof(sizes) / sizeof(sizes[0]) && sizes[op]);
	for (unsigned int i = 0; i < sizes[op]; i++, (*p)++)
		v |= (uint64_t) * *p << (8 * i);
	return v;
}

/* Skips a PkgLength (ACPI 6.5 20.2.4), returning the value. */
static uint32_t pkglen(const uint8_t **p)
{
	uint8_t lead = *(*p)++;
	unsigned int follow = lead >> 6;
	uint32_t v = follow ? lead & 0x0f : lead;

	for (unsigned int i = 0; i < follow; i++, (*p)++)
		v |= (uint32_t) * *p << (4 + 8 * i);
	return v;
}

/* Walks the DSDT's _PRT and checks all 128 entries against the config. */
static void check_prt(const struct acpi_config *cfg)
{
	static const uint8_t name[] = {0x08, '_', 'P', 'R', 'T'};
	size_t used = build(cfg);
	const uint8_t *d = dsdt_of(used), *p, *end;
	uint32_t len = rd32(d + 4);

	p = memmem(d, len, name, sizeof(name));
	assert_non_null(p);
	p += sizeof(name);
	assert_int_equal(*p++, 0x12);
	end = p;
	end += pkglen(&p);
	assert_true(end <= d + len);
	assert_int_equal(*p++, 128);
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			const uint8_t *entry_end;

			assert_int_equal(*p++, 0x12);
			entry_end = p;
			entry_end += pkglen(&p);
			assert_int_equal(*p++, 4);
			assert_int_equal(aml_int(&p), (uint64_t)slot << 16 | 0xffff);
			assert_int_equal(aml_int(&p), pin);
			assert_int_equal(aml_int(&p), 0);
			assert_int_equal(aml_int(&p),
					 cfg->intx_gsi_base + (slot + pin) % cfg->intx_gsi_count);
			assert_ptr_equal(p, entry_end);
		}
	}
	assert_ptr_equal(p, end);
}

static void test_dsdt_pci_prt(void **state)
{
	(void)state;
	struct acpi_config cfg = pci_config(1);

	check_prt(&cfg);
	cfg.intx_gsi_base = 40;
	cfg.intx_gsi_count = 3;
	check_prt(&cfg);
	cfg.intx_gsi_base = 0x12345;
	cfg.intx_gsi_count = 1;
	check_prt(&cfg);
}

/* The descriptors the PCI0 _CRS and the MBRD _CRS must hold for `cfg`. */
static void check_pci_resources(const struct acpi_config *cfg, uint16_t buses)
{
	/* clang-format off */
	const uint8_t bus_range[] = {0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0,
				     (uint8_t)(buses - 1), (uint8_t)((buses - 1) >> 8),
				     0, 0, (uint8_t)buses, (uint8_t)(buses >> 8)};
	static const uint8_t cf8[] = {0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08};
	static const uint8_t io_low[] = {0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0, 0,
					 0xf7, 0x0c, 0, 0, 0xf8, 0x0c};
	static const uint8_t io_high[] = {0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d,
					  0xff, 0xff, 0, 0, 0x00, 0xf3};
	/* clang-format on */
	uint8_t mem32[26] = {0x87, 0x17, 0x00, 0x00, 0x0c, 0x01};
	uint8_t mem64[46] = {0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01};
	uint8_t ecam[12] = {0x86, 0x09, 0x00, 0x01};
	size_t used = build(cfg);
	const uint8_t *d = dsdt_of(used);
	uint32_t len = rd32(d + 4), v;
	uint64_t q;

	v = (uint32_t)cfg->mmio32_base;
	memcpy(mem32 + 10, &v, 4);
	v = (uint32_t)(cfg->mmio32_base + cfg->mmio32_size - 1);
	memcpy(mem32 + 14, &v, 4);
	v = (uint32_t)cfg->mmio32_size;
	memcpy(mem32 + 22, &v, 4);
	memcpy(mem64 + 14, &cfg->mmio64_base, 8);
	q = cfg->mmio64_base + cfg->mmio64_size - 1;
	memcpy(mem64 + 22, &q, 8);
	memcpy(mem64 + 38, &cfg->mmio64_size, 8);
	v = (uint32_t)cfg->ecam_base;
	memcpy(ecam + 4, &v, 4);
	v = (uint32_t)cfg->ecam_size;
	memcpy(ecam + 8, &v, 4);

	assert_true(contains(d, len, bus_range, sizeof(bus_range)));
	assert_true(contains(d, len, cf8, sizeof(cf8)));
	assert_true(contains(d, len, io_low, sizeof(io_low)));
	assert_true(contains(d, len, io_high, sizeof(io_high)));
	assert_true(contains(d, len, mem32, sizeof(mem32)));
	assert_int_equal(contains(d, len, mem64, sizeof(mem64)), cfg->mmio64_size != 0);
	assert_int_equal(contains(d, len, mem64, 6), cfg->mmio64_size != 0);
	assert_true(contains(d, len, ecam, sizeof(ecam)));
}

static void test_dsdt_pci_resources(void **state)
{
	(void)state;
	static const uint8_t pnp0a08[] = {0x0c, 0x41, 0xd0, 0x0a, 0x08};
	static const uint8_t pnp0a03[] = {0x0c, 0x41, 0xd0, 0x0a, 0x03};
	static const uint8_t pnp0c02[] = {0x0c, 0x41, 0xd0, 0x0c, 0x02};
	struct acpi_config cfg = pci_config(1);
	const uint8_t *d = dsdt_of(build(&cfg));
	uint32_t len = rd32(d + 4);

	assert_true(contains(d, len, pnp0a08, sizeof(pnp0a08)));
	assert_true(contains(d, len, pnp0a03, sizeof(pnp0a03)));
	assert_true(contains(d, len, pnp0c02, sizeof(pnp0c02)));
	assert_false(contains(d, len, "_ADR", 4)); /* _HID, so no _ADR */
	assert_true(contains(d, len, "_OSC", 4));
	check_pci_resources(&cfg, 1);

	cfg.ecam_base = 0xb0000000;
	cfg.ecam_size = 16 << 20;
	cfg.mmio32_base = 0x80000000;
	cfg.mmio32_size = 0x30000000;
	cfg.mmio64_base = 0x8000000000ULL;
	cfg.mmio64_size = 0x4000000000ULL;
	check_pci_resources(&cfg, 16);
	cfg.mmio64_size = 0; /* no 64-bit window */
	check_pci_resources(&cfg, 16);
}

static void test_invalid_pci_config(void **state)
{
	(void)state;
	struct acpi_config bad[14];
	size_t n = sizeof(bad) / sizeof(bad[0]), used = 777;

	for (size_t i = 0; i < n; i++)
		bad[i] = pci_config(2);
	/* ECAM: not bus aligned, empty, not whole buses, over 256 buses, high, across 4 GiB. */
	bad[0].ecam_base += 0x1000;
	bad[1].ecam_size = 0;
	bad[2].ecam_size = (1 << 20) + 0x1000;
	bad[3].ecam_size = 257 << 20;
	bad[4].ecam_base = 0x100000000ULL;
	bad[5].ecam_base = 0xfff00000;
	bad[5].ecam_size = 2 << 20;
	/* Windows: empty, across 4 GiB, 4 GiB long, wrapping, overlapping. */
	bad[6].mmio32_size = 0;
	bad[7].mmio32_base = 0xf0000000;
	bad[7].mmio32_size = 0x20000000;
	bad[8].mmio32_base = 0;
	bad[8].mmio32_size = 0x100000000ULL;
	bad[9].mmio64_base = UINT64_MAX - 0xfff;
	bad[9].mmio64_size = 0x2000;
	bad[10].ecam_base = MMIO32_BASE + MMIO32_SIZE - (1 << 20);
	bad[11].mmio64_base = MMIO32_BASE;
	/* INTx: no GSIs, GSIs past 2^32. */
	bad[12].intx_gsi_count = 0;
	bad[13].intx_gsi_base = UINT32_MAX;
	bad[13].intx_gsi_count = 2;
	log_set_level(LOG_LEVEL_OFF); /* the errors are expected */
	for (size_t i = 0; i < n; i++) {
		if (acpi_build(&bad[i], buf, sizeof(buf), &used) != -EINVAL)
			fail_msg("bad PCI config %zu accepted", i);
	}
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(used, 777);

	/* Edges that are fine: a range ending at 4 GiB, one 64-bit GSI window. */
	bad[0] = pci_config(2);
	bad[0].ecam_base = 0xfff00000;
	bad[0].mmio64_base = UINT64_MAX - 0xfff;
	bad[0].mmio64_size = 0x1000;
	bad[0].intx_gsi_base = UINT32_MAX;
	bad[0].intx_gsi_count = 1;
	assert_int_equal(acpi_build(&bad[0], buf, sizeof(buf), &used), 0);
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
	struct acpi_config cfg = pci_config(4);
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
	struct acpi_config cfg = pci_config(ACPI_MAX_CPUS);
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

/* Checks the disassembled PCI objects: ids, _CRS numbers, 128 _PRT entries, MCFG. */
static void check_pci_disassembly(const char *dir)
{
	static const char *const crs[] = {
	    "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,",
	    "0x0CF8,             // Range Minimum",
	    "0x0CF7,             // Range Maximum",
	    "0x0D00,             // Range Minimum",
	    "0xF300,             // Length",
	    "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, "
	    "ReadWrite,",
	    "0xC0000000,         // Range Minimum",
	    "0xDFFFFFFF,         // Range Maximum",
	    "0x20000000,         // Length",
	    "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, "
	    "ReadWrite,",
	    "0x0000000140000000, // Range Minimum",
	    "0x000000113FFFFFFF, // Range Maximum",
	    "0x0000001000000000, // Length",
	    "Memory32Fixed (ReadWrite,\n                    0xE0000000,         // Address Base\n"
	    "                    0x00100000,         // Address Length",
	    "ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\")",
	};
	static const char *const mcfg[] = {
	    "Base Address : 00000000E0000000",
	    "Segment Group Number : 0000",
	    "Start Bus Number : 00",
	    "End Bus Number : 00",
	};

	assert_int_equal(count_in_file(dir, "DSDT.dsl", "EisaId (\"PNP0A08\")"), 1);
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "EisaId (\"PNP0A03\")"), 1);
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "EisaId (\"PNP0C02\")"), 1);
	for (size_t i = 0; i < sizeof(crs) / sizeof(crs[0]); i++) {
		if (count_in_file(dir, "DSDT.dsl", crs[i]) != 1)
			fail_msg("DSDT.dsl: not once: %s", crs[i]);
	}
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "Name (_PRT, Package (0x80)"), 1);
	/* 128 _PRT entries and \_S5. */
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "Package (0x04)"), 128 + 1);
	assert_int_equal(count_in_file(dir, "DSDT.dsl", "0x001FFFFF, \n"), 4);
	for (size_t i = 0; i < sizeof(mcfg) / sizeof(mcfg[0]); i++) {
		if (count_in_file(dir, "MCFG.dsl", mcfg[i]) != 1)
			fail_msg("MCFG.dsl: not once: %s", mcfg[i]);
	}
}

static void test_iasl_accepts_tables(void **state)
{
	(void)state;
	struct acpi_config cfg = pci_config(4);
	const char *keep = getenv("COVE_ACPI_DUMP");
	char dir[] = "/tmp/cove-acpi-XXXXXX", path[256], cmd[300];
	const char *where = dir;
	size_t used;

	if (!have_iasl()) {
		print_message("[  SKIPPED ] iasl not installed (apt-get install acpica-tools)\n");
		skip();
	}
	cfg.num_uarts = 4;
	cfg.uarts[2] = (struct acpi_uart){0x3e8, 4};
	cfg.uarts[3] = (struct acpi_uart){0x2e8, 3};
	cfg.power_button = true;
	cfg.power_button_gsi = 5;
	used = build(&cfg);
	const struct {
		const char *name;
		const uint8_t *table;
	} tables[] = {
	    {"XSDT", xsdt_of(used)},
	    {"FACP", find_table("FACP", used)},
	    {"APIC", find_table("APIC", used)},
	    {"DSDT", dsdt_of(used)},
	    {"MCFG", find_table("MCFG", used)},
	};

	if (keep)
		where = keep;
	else
		assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		assert_non_null(tables[i].table);
		snprintf(path, sizeof(path), "%s/%s.dat", where, tables[i].name);
		write_file(path, tables[i].table, rd32(tables[i].table + 4));
		iasl_roundtrip(where, tables[i].name);
	}
	compare_dsdt_recompiled(where, dsdt_of(used));
	/* A malformed template would decompile as a plain Buffer: count them. */
	assert_int_equal(count_in_file(where, "DSDT.dsl", "ResourceTemplate ()"),
			 4 + 1 + 1 + 1 + 2);
	assert_int_equal(count_in_file(where, "DSDT.dsl", "EisaId (\"PNP0C0C\")"), 1);
	assert_int_equal(count_in_file(where, "DSDT.dsl", "Name (_HID, \"ACPI0013\""), 1);
	assert_int_equal(count_in_file(where, "DSDT.dsl",
				       "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive"),
			 1);
	assert_int_equal(count_in_file(where, "DSDT.dsl", "Notify (PWRB, 0x80)"), 1);
	assert_int_equal(count_in_file(where, "DSDT.dsl", "IRQNoFlags ()"), 4 + 1);
	assert_int_equal(count_in_file(where, "DSDT.dsl", "EisaId (\"PNP0B00\")"), 1);
	assert_int_equal(count_in_file(where, "DSDT.dsl", "EisaId (\"PNP0501\")"), 4);
	assert_int_equal(count_in_file(where, "DSDT.dsl", "Name (_HID, \"QEMU0001\")"), 1);
	assert_int_equal(count_in_file(where, "APIC.dsl", "[Processor Local APIC]"), 4);
	assert_int_equal(count_in_file(where, "FACP.dsl", "Hardware Reduced (V5) : 1"), 1);
	check_pci_disassembly(where);
	if (!keep) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

/*
 * Runs PCI0._OSC in ACPICA's interpreter (acpiexec) with the given UUID
 * bytes and revision, and a capabilities buffer of DWORD 1 = 1 (query),
 * DWORD 2 = 0x1f (support), DWORD 3 = 0xff (controls requested); checks
 * the returned buffer is `want` (hex bytes as acpiexec prints them).
 */
static void check_osc(const char *dir, const char *uuid, unsigned int rev, const char *want)
{
	static char out[65536];
	char cmd[600];

	snprintf(cmd, sizeof(cmd),
		 "cd %s && acpiexec -b 'evaluate \\_SB.PCI0._OSC (%s) %u 3 "
		 "(01 00 00 00 1f 00 00 00 ff 00 00 00)' DSDT.dat 2>&1",
		 dir, uuid, rev);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	if (!strstr(out, want) || strstr(out, "ACPI Error"))
		fail_msg("_OSC(%s, %u): want %s, got:\n%s", uuid, rev, want, out);
}

/* The _OSC grants what is asked and flags a wrong UUID or revision. */
static void test_acpiexec_runs_osc(void **state)
{
	(void)state;
	static const char pci_uuid[] = "5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66";
	static const char other_uuid[] = "5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 67";
	struct acpi_config cfg = pci_config(1);
	char dir[] = "/tmp/cove-acpi-XXXXXX", path[256], cmd[300];
	const uint8_t *d;

	if (system("command -v acpiexec >/dev/null 2>&1") != 0) {
		print_message(
		    "[  SKIPPED ] acpiexec not installed (apt-get install acpica-tools)\n");
		skip();
	}
	d = dsdt_of(build(&cfg));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/DSDT.dat", dir);
	write_file(path, d, rd32(d + 4));
	check_osc(dir, pci_uuid, 1, "0000: 01 00 00 00 1F 00 00 00 FF 00 00 00");
	check_osc(dir, pci_uuid, 2, "0000: 09 00 00 00 1F 00 00 00 FF 00 00 00");
	check_osc(dir, other_uuid, 1, "0000: 05 00 00 00 1F 00 00 00 FF 00 00 00");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The GED's _EVT, run by ACPICA, notifies the power button of a press. */
static void test_acpiexec_runs_evt(void **state)
{
	(void)state;
	static char out[65536];
	struct acpi_config cfg = test_config(1);
	char dir[] = "/tmp/cove-acpi-XXXXXX", path[256], cmd[300];
	const uint8_t *d;

	if (system("command -v acpiexec >/dev/null 2>&1") != 0) {
		print_message(
		    "[  SKIPPED ] acpiexec not installed (apt-get install acpica-tools)\n");
		skip();
	}
	cfg.power_button = true;
	cfg.power_button_gsi = 5;
	d = dsdt_of(build(&cfg));
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/DSDT.dat", dir);
	write_file(path, d, rd32(d + 4));
	snprintf(cmd, sizeof(cmd), "cd %s && acpiexec -b 'evaluate \\_SB.GED0._EVT 5' DSDT.dat 2>&1",
		 dir);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	if (!strstr(out, "Notify on [PWRB]") || !strstr(out, "Value 0x80") ||
	    strstr(out, "ACPI Error"))
		fail_msg("_EVT did not notify PWRB of 0x80:\n%s", out);
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
	    cmocka_unit_test(test_dsdt_power_button),
	    cmocka_unit_test(test_mcfg),
	    cmocka_unit_test(test_no_pci_no_mcfg),
	    cmocka_unit_test(test_dsdt_pci_prt),
	    cmocka_unit_test(test_dsdt_pci_resources),
	    cmocka_unit_test(test_invalid_pci_config),
	    cmocka_unit_test(test_s5_value),
	    cmocka_unit_test(test_invalid_config),
	    cmocka_unit_test(test_too_small_is_enospc),
	    cmocka_unit_test(test_worst_case_fits_and_is_deterministic),
	    cmocka_unit_test(test_iasl_accepts_tables),
	    cmocka_unit_test(test_acpiexec_runs_osc),
	    cmocka_unit_test(test_acpiexec_runs_evt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
