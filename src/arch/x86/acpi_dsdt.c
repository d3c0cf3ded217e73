/* The DSDT's body; see acpi_dsdt.h. */
#include "arch/x86/acpi_dsdt.h"

/* _OSC for a PCI host bridge (PCI Firmware 3.3 4.5.1): its UUID, DWORD 1 bits. */
#define PCI_OSC_UUID "33db4d5b-1ff7-401c-9657-7441c03dd766"
#define OSC_UNRECOGNIZED_UUID (1u << 2)
#define OSC_UNRECOGNIZED_REVISION (1u << 3)
#define PCI_OSC_REVISION 1

static void dsdt_uart(struct aml *a, unsigned int index, const struct acpi_uart *u)
{
	/* index < ACPI_MAX_UARTS: one digit. */
	const char name[] = {'C', 'O', 'M', (char)('1' + index), '\0'};

	aml_device_begin(a, name);
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_integer(a, "_UID", index + 1);
	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_io(a, u->io_base, 8);
	aml_res_irq(a, u->irq);
	aml_resource_end(a);
	aml_end(a);
}

/*
 * The MC146818 CMOS RTC at its PC ports 0x70-0x71 and ISA IRQ 8. Listing it
 * lets Linux bind rtc_cmos through PNP, with IRQ 8 mapped through the
 * IOAPIC like the UARTs' (with no legacy PIC, Linux's own fallback RTC
 * device would have to assume that mapping).
 */
static void dsdt_rtc(struct aml *a)
{
	aml_device_begin(a, "RTC_");
	aml_name_eisaid(a, "_HID", "PNP0B00");
	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_io(a, 0x70, 2);
	aml_res_irq(a, 8);
	aml_resource_end(a);
	aml_end(a);
}

/*
 * QEMU's pvpanic ISA device: Linux's pvpanic-mmio driver binds ACPI id
 * QEMU0001 and accepts an I/O port resource as well as MMIO.
 */
static void dsdt_pvpanic(struct aml *a, uint16_t port)
{
	aml_device_begin(a, "PEVT");
	aml_name_string(a, "_HID", "QEMU0001");
	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_io(a, port, 1);
	aml_resource_end(a);
	aml_method_begin(a, "_STA", 0, false);
	aml_return_integer(a, 0x0f); /* present, enabled, shown, functioning */
	aml_end(a);
	aml_end(a);
}

/*
 * The power button of a hardware-reduced platform (ACPI 6.5 4.1, 5.6.9
 * "Interrupt-signaled ACPI events"): a PNP0C0C control-method power button
 * device, and a Generic Event Device (ACPI0013) whose one edge-triggered
 * interrupt runs _EVT, which notifies the button (0x80: pressed). Linux's
 * evged driver (built into its ACPI core) runs _EVT from the interrupt;
 * its button driver turns the notification into KEY_POWER.
 *
 *   Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }
 *   Device (GED0) { Name (_HID, "ACPI0013") Name (_UID, Zero)
 *     Name (_CRS, ResourceTemplate () {
 *       Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { GSI } })
 *     Method (_EVT, 1) { Notify (PWRB, 0x80) } }
 */
static void dsdt_power_button(struct aml *a, uint32_t gsi)
{
	aml_device_begin(a, "PWRB");
	aml_name_eisaid(a, "_HID", "PNP0C0C");
	aml_name_integer(a, "_UID", 0);
	aml_end(a);

	aml_device_begin(a, "GED0");
	aml_name_string(a, "_HID", "ACPI0013");
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_interrupt(a, gsi, AML_IRQ_EDGE | AML_IRQ_ACTIVE_HIGH);
	aml_resource_end(a);
	aml_method_begin(a, "_EVT", 1, false);
	aml_notify(a);
	aml_name_ref(a, "PWRB");
	aml_integer(a, ACPI_NOTIFY_BUTTON_PRESSED);
	aml_end(a);
	aml_end(a);
}

/* Buses 0 to this - 1 sit behind the host bridge, one ECAM MiB each. */
/*
 * What the host bridge decodes: its buses, the config ports (consumed),
 * every other I/O port, the 32-bit and 64-bit memory windows (produced,
 * for the OS to place BARs in; Linux keeps the BARs Cove assigned when
 * they fall inside).
 */
static void dsdt_pci_crs(struct aml *a, const struct acpi_config *cfg)
{
	const uint16_t io_after = ACPI_PCI_CONFIG_PORT + ACPI_PCI_CONFIG_PORTS;

	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_word_bus_number(a, 0, (uint16_t)acpi_pci_buses(cfg));
	aml_res_io(a, ACPI_PCI_CONFIG_PORT, ACPI_PCI_CONFIG_PORTS);
	aml_res_word_io(a, 0, ACPI_PCI_CONFIG_PORT);
	aml_res_word_io(a, io_after, (uint16_t)(0x10000 - io_after));
	aml_res_dword_memory(a, (uint32_t)cfg->mmio32_base, (uint32_t)cfg->mmio32_size);
	if (cfg->mmio64_size)
		aml_res_qword_memory(a, cfg->mmio64_base, cfg->mmio64_size);
	aml_resource_end(a);
}

/*
 * Method (_OSC, 4) {
 *   CreateDWordField (Arg3, 0, CDW1)
 *   If (Arg0 == ToUUID (PCI_OSC_UUID)) {
 *     If (Arg1 != 1) { CDW1 |= OSC_UNRECOGNIZED_REVISION }
 *   } Else { CDW1 |= OSC_UNRECOGNIZED_UUID }
 *   Return (Arg3)
 * }
 * Every control the OS requests in DWORD 3 is granted: the buffer comes
 * back with DWORD 3 as the OS wrote it. Nothing on bus 0 has the PCIe
 * ports (hotplug, AER, PME, DPC) those controls are about, so granting is
 * free, and it spares Linux's "platform retains control" path, which
 * also disables ASPM handling.
 */
static void dsdt_pci_osc(struct aml *a)
{
	aml_method_begin(a, "_OSC", 4, false);
	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_integer(a, 0);
	aml_name_ref(a, "CDW1");

	aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_uuid(a, PCI_OSC_UUID);
	aml_if_begin(a);
	aml_lnot(a);
	aml_lequal(a);
	aml_arg(a, 1);
	aml_integer(a, PCI_OSC_REVISION);
	aml_or(a);
	aml_name_ref(a, "CDW1");
	aml_integer(a, OSC_UNRECOGNIZED_REVISION);
	aml_name_ref(a, "CDW1");
	aml_end(a);
	aml_end(a);
	aml_else_begin(a);
	aml_or(a);
	aml_name_ref(a, "CDW1");
	aml_integer(a, OSC_UNRECOGNIZED_UUID);
	aml_name_ref(a, "CDW1");
	aml_end(a);

	aml_return(a);
	aml_arg(a, 3);
	aml_end(a);
}

/*
 * The _PRT: for each slot of bus 0 and each pin, an entry
 * { _ADR 0xSSSSFFFF (any function of slot S), pin, 0, GSI }. Source 0
 * means the last field is a GSI, with no link device: Linux then programs
 * it level-triggered, active-low, so the MADT needs no override for it.
 */
static void dsdt_pci_prt(struct aml *a, const struct acpi_config *cfg)
{
	aml_name(a, "_PRT");
	aml_package_begin(a);
	for (unsigned int slot = 0; slot < ACPI_PCI_SLOTS; slot++) {
		for (unsigned int pin = 0; pin < ACPI_PCI_PINS; pin++) {
			aml_package_begin(a);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, cfg->intx_gsi_base + (slot + pin) % cfg->intx_gsi_count);
			aml_end(a);
		}
	}
	aml_end(a);
}

/*
 * \_SB.PCI0, a PCI Express host bridge with the conventional PCI id as
 * compatible. No _ADR: ACPI 6.5 6.1 wants _HID or _ADR, not both (iasl
 * warns), and Linux finds the root bus from _SEG and _BBN.
 */
static void dsdt_pci(struct aml *a, const struct acpi_config *cfg)
{
	aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	aml_name_integer(a, "_UID", 0);
	dsdt_pci_crs(a, cfg);
	dsdt_pci_osc(a);
	dsdt_pci_prt(a, cfg);
	aml_end(a);
}

/*
 * Motherboard resources: the ECAM range, which Linux only uses for
 * MMCONFIG once it finds it reserved here (or in the e820 map).
 */
static void dsdt_motherboard(struct aml *a, const struct acpi_config *cfg)
{
	aml_device_begin(a, "MBRD");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name(a, "_CRS");
	aml_resource_begin(a);
	aml_res_memory32_fixed(a, (uint32_t)cfg->ecam_base, (uint32_t)cfg->ecam_size, true);
	aml_resource_end(a);
	aml_end(a);
}

void acpi_dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	/* \_S5: SLP_TYPa 5, SLP_TYPb 0 (unused with the sleep registers), reserved. */
	aml_name(a, "_S5_");
	aml_package_begin(a);
	aml_integer(a, ACPI_SLEEP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);

	aml_scope_begin(a, "\\_SB_");
	for (unsigned int i = 0; i < cfg->num_uarts; i++)
		dsdt_uart(a, i, &cfg->uarts[i]);
	if (cfg->cmos_rtc)
		dsdt_rtc(a);
	if (cfg->pvpanic_port)
		dsdt_pvpanic(a, cfg->pvpanic_port);
	if (cfg->power_button)
		dsdt_power_button(a, cfg->power_button_gsi);
	if (cfg->pci) {
		dsdt_pci(a, cfg);
		dsdt_motherboard(a, cfg);
	}
	aml_end(a);
}

