/*
 * ACPI tables for x86_64 guests; see acpi.h. Table layouts follow ACPI 6.5
 * section 5.2: RSDP (5.2.5.3), system description table header (5.2.6),
 * XSDT (5.2.8), FADT (5.2.9, flags 5.2.9.3-5.2.9.4), DSDT (5.2.11.1),
 * MADT (5.2.12); the Generic Address Structure is 5.2.3.2. The MCFG and
 * the host bridge's _OSC follow the PCI Firmware Specification 3.3 (4.1.2,
 * 4.5), its _CRS and _PRT ACPI 6.5 6.2.13 and 6.2.14.
 *
 * Each table's fixed part is a packed struct whose offsets are checked
 * against the spec with static assertions, copied into the output buffer;
 * the checksum is computed last, over the bytes in the buffer.
 */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/acpi_dsdt.h"
#include "arch/x86/aml.h"
#include "base/log.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

#define ACPI_OEM_ID "COVE  "	     /* 6 bytes */
#define ACPI_OEM_TABLE_ID "COVEVM  " /* 8 bytes */
#define ACPI_CREATOR_ID "COVE"	     /* 4 bytes */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_REVISION 1
#define TABLE_ALIGN 16

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header");
#define HDR_LENGTH_OFF 4
#define HDR_CHECKSUM_OFF 9

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0+ with XSDT */
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(offsetof(struct acpi_rsdp, length) == 20, "RSDP v1 part");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_addr) == 24, "RSDP XSDT address");
#define RSDP_V1_LEN 20

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

struct acpi_fadt {
	struct acpi_header hdr;
	uint32_t firmware_ctrl; /* FACS: none in hardware-reduced mode */
	uint32_t dsdt;		/* 0: X_DSDT is used */
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	/* Offsets 46-108 (SCI_INT .. CENTURY): ignored with HW_REDUCED_ACPI. */
	uint8_t legacy_pm[109 - 46];
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_revision;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	/* X_PM1a_EVT_BLK .. X_GPE1_BLK (148-243): ignored with HW_REDUCED_ACPI. */
	struct acpi_gas x_legacy_pm[8];
	struct acpi_gas sleep_control;
	struct acpi_gas sleep_status;
	uint64_t hypervisor_vendor;
} __attribute__((packed));
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT Flags");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT RESET_REG");
_Static_assert(offsetof(struct acpi_fadt, minor_revision) == 131, "FADT minor version");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "FADT SLEEP_CONTROL_REG");
_Static_assert(offsetof(struct acpi_fadt, sleep_status) == 256, "FADT SLEEP_STATUS_REG");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6");
#define FADT_REVISION 6
#define FADT_MINOR_REVISION 5

/* FADT Flags (5.2.9.3). */
#define FADT_WBINVD (1u << 0)
#define FADT_RESET_REG_SUP (1u << 10)
#define FADT_HW_REDUCED_ACPI (1u << 20)
/* IA-PC Boot Architecture Flags (5.2.9.4). */
#define IAPC_LEGACY_DEVICES (1u << 0)
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_PCIE_ASPM_CONTROLS (1u << 4)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

struct acpi_madt {
	struct acpi_header hdr;
	uint32_t lapic_addr;
	uint32_t flags; /* bit 0 PCAT_COMPAT: left clear, see build_madt() */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
#define MADT_REVISION 6 /* ACPI 6.5 */

struct madt_lapic {
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC");

struct madt_ioapic {
	uint8_t type, length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");

struct madt_irq_override {
	uint8_t type, length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_irq_override) == 10, "MADT interrupt source override");

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t processor_uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT local APIC NMI");

#define MADT_TYPE_LAPIC 0
#define MADT_TYPE_IOAPIC 1
#define MADT_TYPE_IRQ_OVERRIDE 2
#define MADT_TYPE_LAPIC_NMI 4
#define MADT_LAPIC_ENABLED 1u
#define MADT_ALL_PROCESSORS 0xff
/* MPS INTI flags: polarity in bits 1-0, trigger mode in bits 3-2. */
#define MPS_INTI_ACTIVE_HIGH 0x1
#define MPS_INTI_EDGE (0x1 << 2)

/* MCFG (PCI Firmware 3.3 4.1.2): the header, 8 reserved bytes, allocations. */
struct acpi_mcfg {
	struct acpi_header hdr;
	uint8_t reserved[8];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG");

struct mcfg_allocation {
	uint64_t base; /* ECAM address of the start bus */
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mcfg_allocation) == 16, "MCFG allocation");
#define MCFG_REVISION 1

#define DSDT_REVISION 2 /* 2+: AML integers are 64 bits */
#define XSDT_REVISION 1
#define RSDP_REVISION 2

/* The output buffer and the guest address its first byte will have. */
struct out {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint64_t base_gpa;
};

struct acpi_ctx {
	const struct acpi_config *cfg;
	struct out out;
	uint64_t dsdt_gpa; /* set by build_dsdt(), which runs before the XSDT's tables */
};

static uint64_t out_gpa(const struct out *o, size_t off)
{
	return o->base_gpa + off;
}

/* Reserves n zeroed bytes at the next TABLE_ALIGN boundary. */
static must_check int out_alloc(struct out *o, size_t n, size_t *off)
{
	size_t start = ALIGN_UP(o->len, (size_t)TABLE_ALIGN);

	if (start > o->cap || o->cap - start < n)
		return -ENOSPC;
	memset(o->buf + o->len, 0, start + n - o->len);
	o->len = start + n;
	*off = start;
	return 0;
}

/* Appends n bytes right after the previous ones (a table's variable part). */
static must_check int out_put(struct out *o, const void *p, size_t n)
{
	if (o->cap - o->len < n)
		return -ENOSPC;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

/* The value that makes the n bytes at p sum to zero (mod 256) if added. */
static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

static void header_init(struct acpi_header *h, const char sig[4], uint8_t revision)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Sets the length of the table at `off` (it ends at o->len) and its checksum. */
static void table_seal(struct out *o, size_t off)
{
	uint32_t length = (uint32_t)(o->len - off);
	uint8_t *t = o->buf + off;

	memcpy(t + HDR_LENGTH_OFF, &length, sizeof(length));
	t[HDR_CHECKSUM_OFF] = 0;
	t[HDR_CHECKSUM_OFF] = checksum(t, length);
}

/* Starts a table with its fixed part (header included); more may be appended. */
static must_check int table_begin(struct out *o, const void *fixed, size_t n, size_t *off)
{
	int err = out_alloc(o, n, off);

	if (err)
		return err;
	memcpy(o->buf + *off, fixed, n);
	return 0;
}

/* Copies a fixed-size table into the output and seals it. */
static must_check int table_put(struct out *o, const void *table, size_t n, size_t *off)
{
	int err = table_begin(o, table, n, off);

	if (err)
		return err;
	table_seal(o, *off);
	return 0;
}

static struct acpi_gas gas_io8(uint16_t port)
{
	return (struct acpi_gas){
	    .space_id = GAS_SYSTEM_IO,
	    .bit_width = 8,
	    .access_size = GAS_ACCESS_BYTE,
	    .address = port,
	};
}

/* ---- DSDT (its body: acpi_dsdt.c) ---- */

static must_check int build_dsdt(struct acpi_ctx *c)
{
	struct out *o = &c->out;
	struct acpi_header h = {0};
	struct aml a;
	size_t off, aml_len;
	int err;

	header_init(&h, "DSDT", DSDT_REVISION);
	err = table_begin(o, &h, sizeof(h), &off);
	if (err)
		return err;
	aml_init(&a, o->buf + o->len, o->cap - o->len);
	acpi_dsdt_body(&a, c->cfg);
	err = aml_finish(&a, &aml_len);
	if (err)
		return err;
	o->len += aml_len;
	table_seal(o, off);
	c->dsdt_gpa = out_gpa(o, off);
	return 0;
}

/* ---- FADT ---- */

static uint16_t iapc_boot_arch(const struct acpi_config *cfg)
{
	/* MSI stays allowed (virtio-pci uses MSI-X); no VGA; no ASPM on virtual links. */
	uint16_t flags = IAPC_VGA_NOT_PRESENT | IAPC_PCIE_ASPM_CONTROLS;

	if (cfg->num_uarts || cfg->i8042 || cfg->cmos_rtc)
		flags |= IAPC_LEGACY_DEVICES;
	if (cfg->i8042)
		flags |= IAPC_8042;
	if (!cfg->cmos_rtc)
		flags |= IAPC_CMOS_RTC_NOT_PRESENT;
	return flags;
}

static must_check int build_fadt(struct acpi_ctx *c, size_t *off)
{
	const struct acpi_config *cfg = c->cfg;
	struct acpi_fadt f = {
	    .flags = FADT_WBINVD | FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI,
	    .iapc_boot_arch = iapc_boot_arch(cfg),
	    .reset_reg = gas_io8(cfg->reset_port),
	    .reset_value = cfg->reset_value,
	    .minor_revision = FADT_MINOR_REVISION,
	    .x_dsdt = c->dsdt_gpa,
	    .sleep_control = gas_io8(cfg->sleep_ctrl_port),
	    .sleep_status = gas_io8(cfg->sleep_status_port),
	};
	const char vendor[8] = "COVE";

	header_init(&f.hdr, "FACP", FADT_REVISION);
	memcpy(&f.hypervisor_vendor, vendor, sizeof(vendor));
	return table_put(&c->out, &f, sizeof(f), off);
}

/* ---- MADT ---- */

static must_check int madt_put_cpus(struct out *o, unsigned int num_cpus)
{
	for (unsigned int i = 0; i < num_cpus; i++) {
		struct madt_lapic l = {
		    .type = MADT_TYPE_LAPIC,
		    .length = sizeof(l),
		    .processor_uid = (uint8_t)i,
		    .apic_id = (uint8_t)i,
		    .flags = MADT_LAPIC_ENABLED,
		};
		int err = out_put(o, &l, sizeof(l));

		if (err)
			return err;
	}
	return 0;
}

/* The IOAPIC, the IRQ0 -> GSI 2 override and the LINT1 NMI of every processor. */
static must_check int madt_put_platform(struct out *o, const struct acpi_config *cfg)
{
	const struct madt_ioapic ioapic = {
	    .type = MADT_TYPE_IOAPIC,
	    .length = sizeof(ioapic),
	    .ioapic_id = cfg->ioapic_id,
	    .address = cfg->ioapic_addr,
	    .gsi_base = 0,
	};
	const struct madt_irq_override irq0 = {
	    .type = MADT_TYPE_IRQ_OVERRIDE,
	    .length = sizeof(irq0),
	    .bus = 0, /* ISA */
	    .source = 0,
	    .gsi = 2,
	    .flags = MPS_INTI_ACTIVE_HIGH | MPS_INTI_EDGE,
	};
	const struct madt_lapic_nmi nmi = {
	    .type = MADT_TYPE_LAPIC_NMI,
	    .length = sizeof(nmi),
	    .processor_uid = MADT_ALL_PROCESSORS,
	    .flags = MPS_INTI_ACTIVE_HIGH | MPS_INTI_EDGE,
	    .lint = 1,
	};
	int err = out_put(o, &ioapic, sizeof(ioapic));

	if (!err)
		err = out_put(o, &irq0, sizeof(irq0));
	if (!err)
		err = out_put(o, &nmi, sizeof(nmi));
	return err;
}

/*
 * PCAT_COMPAT (the board also has dual 8259s) stays clear: in hardware-
 * reduced mode Linux never drives the 8259s (null_legacy_pic) and does not
 * read the flag, and the LAPIC's LINT0, where KVM's PIC output would
 * arrive, stays masked. IRQ0 is overridden to GSI 2 as on every PC, for
 * OSes that use the PIT.
 */
static must_check int build_madt(struct acpi_ctx *c, size_t *off)
{
	struct out *o = &c->out;
	struct acpi_madt m = {.lapic_addr = c->cfg->lapic_addr};
	int err;

	header_init(&m.hdr, "APIC", MADT_REVISION);
	err = table_begin(o, &m, sizeof(m), off);
	if (!err)
		err = madt_put_cpus(o, c->cfg->num_cpus);
	if (!err)
		err = madt_put_platform(o, c->cfg);
	if (err)
		return err;
	table_seal(o, *off);
	return 0;
}

/* ---- MCFG ---- */

static must_check int build_mcfg(struct acpi_ctx *c, size_t *off)
{
	const struct acpi_config *cfg = c->cfg;
	struct acpi_mcfg m = {0};
	const struct mcfg_allocation alloc = {
	    .base = cfg->ecam_base,
	    .segment = 0,
	    .start_bus = 0,
	    .end_bus = (uint8_t)(acpi_pci_buses(cfg) - 1),
	};
	int err;

	*off = 0;
	if (!cfg->pci)
		return 0;
	header_init(&m.hdr, "MCFG", MCFG_REVISION);
	err = table_begin(&c->out, &m, sizeof(m), off);
	if (!err)
		err = out_put(&c->out, &alloc, sizeof(alloc));
	if (err)
		return err;
	table_seal(&c->out, *off);
	return 0;
}

/* ---- XSDT and RSDP ---- */

/*
 * The tables the XSDT lists, in order (the DSDT is reached from the FADT).
 * A builder stores its table's offset in *off, or 0 if the configuration
 * does not want the table (offset 0 is the RSDP, never a listed table).
 */
static const struct xsdt_table {
	const char *name;
	must_check int (*build)(struct acpi_ctx *c, size_t *off);
} xsdt_tables[] = {
    {"FADT", build_fadt}, {"MADT", build_madt}, {"MCFG", build_mcfg},
    /* Next: VIOT (virtio-iommu topology). */
};

static must_check int build_xsdt(struct acpi_ctx *c, const size_t *offs, size_t n, size_t *off)
{
	struct out *o = &c->out;
	struct acpi_header h = {0};
	int err;

	header_init(&h, "XSDT", XSDT_REVISION);
	err = table_begin(o, &h, sizeof(h), off);
	for (size_t i = 0; i < n && !err; i++) {
		uint64_t gpa = out_gpa(o, offs[i]);

		err = out_put(o, &gpa, sizeof(gpa));
	}
	if (err)
		return err;
	table_seal(o, *off);
	return 0;
}

/* Fills the RSDP at offset 0 (reserved first by acpi_build). */
static void rsdp_write(struct out *o, uint64_t xsdt_gpa)
{
	struct acpi_rsdp r = {
	    .revision = RSDP_REVISION,
	    .length = sizeof(r),
	    .xsdt_addr = xsdt_gpa,
	};

	memcpy(r.signature, "RSD PTR ", sizeof(r.signature));
	memcpy(r.oem_id, ACPI_OEM_ID, sizeof(r.oem_id));
	r.checksum = checksum((const uint8_t *)&r, RSDP_V1_LEN);
	r.ext_checksum = checksum((const uint8_t *)&r, sizeof(r));
	memcpy(o->buf, &r, sizeof(r));
}

/* [base, base + size) and the other range share an address. */
static bool ranges_overlap(uint64_t a_base, uint64_t a_size, uint64_t b_base, uint64_t b_size)
{
	return a_size && b_size && a_base <= b_base + (b_size - 1) &&
	       b_base <= a_base + (a_size - 1);
}

/* The PCI fields, which the platform code fills from its layout. */
static must_check int pci_config_check(const struct acpi_config *cfg)
{
	const uint64_t bus = ACPI_PCI_ECAM_BUS_SIZE, four_gib = 1ULL << 32;

	if (cfg->ecam_base % bus || cfg->ecam_size % bus || cfg->ecam_size == 0 ||
	    cfg->ecam_size > ACPI_PCI_MAX_BUSES * bus ||
	    cfg->ecam_base > four_gib - cfg->ecam_size) {
		log_error("acpi: bad PCI ECAM range 0x%llx+0x%llx",
			  (unsigned long long)cfg->ecam_base, (unsigned long long)cfg->ecam_size);
		return -EINVAL;
	}
	if (cfg->mmio32_size == 0 || cfg->mmio32_size >= four_gib ||
	    cfg->mmio32_base > four_gib - cfg->mmio32_size ||
	    cfg->mmio64_base > UINT64_MAX - (cfg->mmio64_size ? cfg->mmio64_size - 1 : 0) ||
	    ranges_overlap(cfg->ecam_base, cfg->ecam_size, cfg->mmio32_base, cfg->mmio32_size) ||
	    ranges_overlap(cfg->ecam_base, cfg->ecam_size, cfg->mmio64_base, cfg->mmio64_size) ||
	    ranges_overlap(cfg->mmio32_base, cfg->mmio32_size, cfg->mmio64_base,
			   cfg->mmio64_size)) {
		log_error("acpi: bad or overlapping PCI memory windows");
		return -EINVAL;
	}
	if (cfg->intx_gsi_count == 0 ||
	    cfg->intx_gsi_base > UINT32_MAX - (cfg->intx_gsi_count - 1)) {
		log_error("acpi: bad PCI INTx GSI range %u+%u", cfg->intx_gsi_base,
			  cfg->intx_gsi_count);
		return -EINVAL;
	}
	return 0;
}

static must_check int config_check(const struct acpi_config *cfg, size_t len)
{
	if (cfg->num_cpus == 0 || cfg->num_cpus > ACPI_MAX_CPUS) {
		log_error("acpi: %u vCPUs, want 1-%u", cfg->num_cpus, ACPI_MAX_CPUS);
		return -EINVAL;
	}
	if (cfg->base_gpa % TABLE_ALIGN || cfg->base_gpa > UINT64_MAX - len) {
		log_error("acpi: bad table address 0x%llx", (unsigned long long)cfg->base_gpa);
		return -EINVAL;
	}
	if (!cfg->sleep_ctrl_port || !cfg->sleep_status_port || !cfg->reset_port) {
		log_error("acpi: the sleep and reset registers need I/O ports");
		return -EINVAL;
	}
	if (cfg->num_uarts > ACPI_MAX_UARTS) {
		log_error("acpi: %u UARTs, at most %u", cfg->num_uarts, ACPI_MAX_UARTS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->num_uarts; i++) {
		if (!cfg->uarts[i].io_base || cfg->uarts[i].irq > 15) {
			log_error("acpi: COM%u: bad port 0x%x or IRQ %u", i + 1,
				  cfg->uarts[i].io_base, cfg->uarts[i].irq);
			return -EINVAL;
		}
	}
	return cfg->pci ? pci_config_check(cfg) : 0;
}

int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t len, size_t *used)
{
	struct acpi_ctx c = {
	    .cfg = cfg,
	    .out = {.buf = buf, .cap = len, .base_gpa = cfg->base_gpa},
	};
	size_t offs[ARRAY_SIZE(xsdt_tables)], n = 0, rsdp_off, xsdt_off;
	int err = config_check(cfg, len);

	if (!err)
		err = out_alloc(&c.out, sizeof(struct acpi_rsdp), &rsdp_off);
	if (!err)
		err = build_dsdt(&c);
	for (size_t i = 0; i < ARRAY_SIZE(xsdt_tables) && !err; i++) {
		err = xsdt_tables[i].build(&c, &offs[n]);
		if (!err && offs[n]) {
			log_debug("acpi: %s at 0x%llx", xsdt_tables[i].name,
				  (unsigned long long)out_gpa(&c.out, offs[n]));
			n++;
		}
	}
	if (!err)
		err = build_xsdt(&c, offs, n, &xsdt_off);
	if (err)
		return err;
	rsdp_write(&c.out, out_gpa(&c.out, xsdt_off));
	*used = c.out.len;
	return 0;
}
