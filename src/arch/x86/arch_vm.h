/* The x86 machine's share of struct vm: its platform devices and boot state. */
#ifndef COVE_ARCH_X86_ARCH_VM_H
#define COVE_ARCH_X86_ARCH_VM_H

#include "backends/input_pump.h"
#include "devices/legacy/acpi_pm.h"
#include "devices/legacy/boot_marker.h"
#include "devices/legacy/cmos_rtc.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/pvpanic.h"
#include "devices/legacy/uart8250.h"
#include "hv/hv.h"

struct arch_vm {
	struct hv_arch_caps caps;	  /* CPUID the hypervisor supports */
	struct hv_x86_boot_regs boot_regs; /* boot vCPU's entry state */

	struct uart8250 uarts[UART8250_COM_COUNT]; /* COM1..COM4, always present */
	int uart_fds[UART8250_COM_COUNT];	    /* output fd each; -1: sink */
	bool uart_fd_owned[UART8250_COM_COUNT];	    /* opened by Cove (type=file) */
	struct i8042 i8042;
	struct cmos_rtc rtc;
	struct acpi_pm acpi_pm;
	struct pvpanic pvpanic;
	struct boot_marker boot_marker;
	struct input_pump stdin_pump;
	bool stdin_pumping;
	int devices_ready; /* how many of the steps in platform.c succeeded */
};

/* Writes the ACPI tables at X86_ACPI_ADDR; *rsdp is where the RSDP landed. */
struct vm;
must_check int x86_acpi_setup(struct vm *vm, uint64_t *rsdp);

#endif
