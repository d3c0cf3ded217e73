/*
 * PCI bus 0 behind a host bridge (PCI Local Bus 3.0 section 3.2.2.3.2 for
 * the 0xCF8/0xCFC mechanism; PCI Express Base section 7.2.2 for ECAM).
 * Cove places every BAR itself, before the guest runs, in a 32-bit and a
 * 64-bit memory window; the guest may move them (its writes are honoured:
 * dispatch follows the BAR registers). Both windows are claimed on the MMIO
 * bus once, and pci_bus routes each access to the BAR that decodes it.
 *
 * Device 0 is the host bridge itself. INTx: slot s raises GSI
 * intx_gsi_base + s % intx_gsi_count, shared lines OR-ed.
 *
 * Threading: `lock` guards CONFIG_ADDRESS and config-space accesses; BAR
 * accesses take no bus lock (devices serialise themselves).
 */
#ifndef COVE_PCI_PCI_BUS_H
#define COVE_PCI_PCI_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "pci/pci_dev.h"
#include "vm/bus.h"

#define PCI_BUS_SLOTS 32

struct hv_vm;

struct pci_bus;

struct pci_window {
	struct pci_bus *bus;
	uint64_t base, size;
	uint64_t next; /* allocation cursor */
};

struct pci_bus_layout {
	uint16_t config_port;	   /* 0xcf8: CONFIG_ADDRESS, CONFIG_DATA at +4 */
	uint64_t ecam_base, ecam_size;
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;
	uint32_t intx_gsi_base, intx_gsi_count;
	uint32_t msi_gsi_base;	   /* first GSI handed out for MSI routes */
};

struct pci_bus {
	pthread_mutex_t lock;
	struct hv_vm *hv_vm;
	struct pci_bus_layout layout;
	struct pci_window mmio32, mmio64;
	struct pci_dev *devs[PCI_BUS_SLOTS];
	struct pci_dev host_bridge;
	uint32_t config_address;
	uint32_t next_msi_gsi;
	/* INTx state; its own lock, because devices raise INTx holding their
	 * lock while config writes reach devices holding `lock`. */
	pthread_mutex_t intx_lock;
	uint32_t intx_asserted; /* bit s: slot s holds its INTx line high */
};

/*
 * Sets up the bus with the host bridge in slot 0 and claims the config
 * ports on `pio` and ECAM and both windows on `mmio`. Returns 0 or -errno.
 */
must_check int pci_bus_init(struct pci_bus *bus, const struct pci_bus_layout *layout,
			    struct hv_vm *hv_vm, struct bus *pio, struct bus *mmio);
void pci_bus_destroy(struct pci_bus *bus);

/*
 * Puts `dev` in the next free slot and places its BARs (64-bit BARs in the
 * 64-bit window, others in the 32-bit one, each aligned to its size).
 * Memory decoding stays off until the guest enables it. Returns 0, -ENOSPC.
 */
must_check int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev);

/* Takes `dev` off the bus (teardown, or a failed creation). */
void pci_bus_remove(struct pci_bus *bus, struct pci_dev *dev);

/* Allocates `count` consecutive GSIs for MSI routes; returns the first. */
must_check int pci_bus_alloc_msi_gsis(struct pci_bus *bus, uint32_t count, uint32_t *first);

/* Drives slot `slot`'s INTx line (level-triggered; shared lines OR-ed). */
void pci_bus_set_intx(struct pci_bus *bus, unsigned int slot, bool level);

/* Config access by bus/device/function/register, as both mechanisms decode it. */
uint32_t pci_bus_cfg_read(struct pci_bus *bus, unsigned int devfn, uint32_t reg, uint32_t len);
void pci_bus_cfg_write(struct pci_bus *bus, unsigned int devfn, uint32_t reg, uint32_t value,
		       uint32_t len);

#endif
