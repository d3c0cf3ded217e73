/*
 * The x86 platform devices and how they are wired: COM1-COM4 (always
 * present, as crosvm does; unconfigured ports are sinks), the i8042, the
 * CMOS RTC, the ACPI power-management registers, pvpanic and the boot
 * marker, all on the port I/O bus; the ACPI power button; host stdin
 * pumped into the UART that asked for it; and the ACPI tables describing
 * them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "base/log.h"
#include "vm/vm.h"

_Static_assert(ACPI_PM_S5_SLP_TYP == ACPI_SLEEP_TYP_S5,
	       "the ACPI PM device must decode the S5 type the DSDT declares");

static const struct serial_config *uart_config(const struct vm_config *cfg, unsigned int num)
{
	for (unsigned int i = 0; i < cfg->num_serials; i++)
		if (cfg->serials[i].hw == SERIAL_HW_UART && cfg->serials[i].num == num)
			return &cfg->serials[i];
	return NULL;
}

/* Where COM<num>'s output goes: -1 (sink), stdout, or a file Cove opens. */
static int open_uart_output(struct arch_vm *a, unsigned int num, const struct serial_config *s)
{
	unsigned int i = num - 1;

	a->uart_fds[i] = -1;
	if (!s || s->type == SERIAL_TYPE_SINK)
		return 0;
	if (s->type == SERIAL_TYPE_STDOUT) {
		a->uart_fds[i] = STDOUT_FILENO;
		return 0;
	}
	a->uart_fds[i] = open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (a->uart_fds[i] < 0) {
		log_error("--serial: cannot open '%s' for COM%u output: %s", s->path, num,
			  strerror(errno));
		return -errno;
	}
	a->uart_fd_owned[i] = true;
	return 0;
}

static size_t push_to_uart(void *sink, const uint8_t *buf, size_t len)
{
	return uart8250_receive(sink, buf, len);
}

static int create_uart(struct vm *vm, unsigned int num)
{
	struct arch_vm *a = &vm->arch;
	struct uart8250 *u = &a->uarts[num - 1];
	const struct serial_config *s = uart_config(vm->cfg, num);
	const struct irq_line irq = { .vm = vm->hv_vm, .gsi = uart8250_com_irq(num) };
	char name[8];
	int err = open_uart_output(a, num, s);

	if (err)
		return err;
	err = uart8250_init(u, &irq, a->uart_fds[num - 1]);
	snprintf(name, sizeof(name), "COM%u", num);
	err = err ? err : uart8250_register(u, &vm->pio, uart8250_com_port(num), name);
	if (err) {
		log_error("cannot create %s: %s", name, strerror(-err));
		return err;
	}
	if (!s || !s->stdin)
		return 0;
	uart8250_set_rx_ready(u, input_pump_wake, &a->stdin_pump);
	err = input_pump_start(&a->stdin_pump, &vm->loop, STDIN_FILENO, push_to_uart, u);
	if (err)
		log_error("cannot read stdin for %s: %s", name, strerror(-err));
	a->stdin_pumping = !err;
	return err;
}

static void destroy_uart(struct arch_vm *a, unsigned int num)
{
	unsigned int i = num - 1;

	uart8250_destroy(&a->uarts[i]);
	if (a->uart_fd_owned[i])
		close(a->uart_fds[i]);
	a->uart_fd_owned[i] = false;
}

static int create_misc(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	int err = i8042_init(&a->i8042, &vm->events);

	err = err ? err : i8042_register(&a->i8042, &vm->pio);
	err = err ? err : cmos_rtc_init(&a->rtc, NULL, NULL);
	err = err ? err : cmos_rtc_register(&a->rtc, &vm->pio);
	err = err ? err : acpi_pm_init(&a->acpi_pm, &vm->events);
	err = err ? err : acpi_pm_register(&a->acpi_pm, &vm->pio);
	err = err ? err : pvpanic_init(&a->pvpanic, &vm->events);
	err = err ? err : pvpanic_register(&a->pvpanic, &vm->pio);
	err = err ? err : boot_marker_init(&a->boot_marker, &vm->start_time, NULL, NULL);
	err = err ? err : boot_marker_register(&a->boot_marker, &vm->pio);
	if (err)
		log_error("cannot create the platform devices: %s", strerror(-err));
	return err;
}

int arch_devices_create(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;
	int err = 0;

	/* hardware=virtio-console serials are the virtio-console module's (registry.c). */
	for (unsigned int num = 1; num <= UART8250_COM_COUNT && !err; num++) {
		a->devices_ready = (int)num; /* destroy_uart copes with a failed init */
		err = create_uart(vm, num);
	}
	if (!err) {
		a->devices_ready = UART8250_COM_COUNT + 1;
		err = create_misc(vm);
	}
	if (err)
		arch_devices_destroy(vm);
	return err;
}

/*
 * Undoes arch_devices_create as far as it got. struct vm starts zeroed, and
 * the misc devices' destroy functions only release their mutex, which is
 * valid on a zeroed (statically initialised) glibc mutex, so the misc
 * devices are destroyed as a group even after a partial create_misc.
 */
void arch_devices_destroy(struct vm *vm)
{
	struct arch_vm *a = &vm->arch;

	if (a->stdin_pumping)
		input_pump_stop(&a->stdin_pump);
	a->stdin_pumping = false;
	if (a->devices_ready > UART8250_COM_COUNT) {
		boot_marker_destroy(&a->boot_marker);
		pvpanic_destroy(&a->pvpanic);
		acpi_pm_destroy(&a->acpi_pm);
		cmos_rtc_destroy(&a->rtc);
		i8042_destroy(&a->i8042);
	}
	for (int num = MIN(a->devices_ready, UART8250_COM_COUNT); num >= 1; num--)
		destroy_uart(a, (unsigned int)num);
	a->devices_ready = 0;
}

int arch_power_button(struct vm *vm)
{
	struct hv_vm *hv = vm->hv_vm;
	int err = hv->ops->set_irq_line(hv, X86_POWER_BUTTON_GSI, true);

	/* Back down at once: the rising edge is the press. */
	if (!err)
		err = hv->ops->set_irq_line(hv, X86_POWER_BUTTON_GSI, false);
	return err;
}

int x86_acpi_setup(struct vm *vm, uint64_t *rsdp)
{
	const struct pci_bus_layout *pci = &vm->pci.layout;
	struct acpi_config cfg = {
		.num_cpus = vm->cfg->num_cpus,
		.base_gpa = X86_ACPI_ADDR,
		.ioapic_addr = (uint32_t)X86_IOAPIC_ADDR,
		.ioapic_id = 0,
		.lapic_addr = (uint32_t)X86_LAPIC_ADDR,
		.sleep_ctrl_port = ACPI_PM_SLEEP_CONTROL_PORT,
		.sleep_status_port = ACPI_PM_SLEEP_STATUS_PORT,
		.reset_port = ACPI_PM_RESET_PORT,
		.reset_value = ACPI_PM_RESET_VALUE,
		.pvpanic_port = PVPANIC_PORT,
		.power_button = true,
		.power_button_gsi = X86_POWER_BUTTON_GSI,
		.i8042 = true,
		.cmos_rtc = true,
		.num_uarts = UART8250_COM_COUNT,
		/* The host bridge as vm.c built it (arch_pci_layout). */
		.pci = true,
		.ecam_base = pci->ecam_base,
		.ecam_size = pci->ecam_size,
		.mmio32_base = pci->mmio32_base,
		.mmio32_size = pci->mmio32_size,
		.mmio64_base = pci->mmio64_base,
		.mmio64_size = pci->mmio64_size,
		.intx_gsi_base = pci->intx_gsi_base,
		.intx_gsi_count = pci->intx_gsi_count,
	};
	uint8_t *buf = guest_mem_ptr(&vm->mem, X86_ACPI_ADDR, X86_ACPI_MAX);
	size_t used;
	int err;

	_Static_assert(ACPI_PCI_CONFIG_PORT == X86_PCI_CONFIG_ADDRESS_PORT,
		       "the DSDT describes the config ports the host bridge decodes");
	for (unsigned int n = 1; n <= UART8250_COM_COUNT; n++)
		cfg.uarts[n - 1] = (struct acpi_uart){ .io_base = uart8250_com_port(n),
						       .irq = (uint8_t)uart8250_com_irq(n) };
	if (!buf)
		return -EFAULT;
	err = acpi_build(&cfg, buf, X86_ACPI_MAX, &used);
	if (err) {
		log_error("cannot build the ACPI tables: %s", strerror(-err));
		return err;
	}
	*rsdp = X86_ACPI_ADDR;
	return 0;
}
