/*
 * MSI-X for one PCI function (PCI Local Bus 3.0 section 6.8.2): the
 * capability's control word, the vector table and the pending-bit array,
 * with each vector delivered through a KVM GSI route and an irqfd. Cove
 * keeps the guest's table and installs a route whenever an unmasked
 * vector's address or data changes; a masked vector's interrupt sets its
 * pending bit and fires when the vector is unmasked.
 *
 * No lock of its own: the owner serialises every call (virtio-pci uses the
 * device lock). Guest-controlled: table writes (any width, any offset)
 * and the control word.
 */
#ifndef COVE_PCI_MSIX_H
#define COVE_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "pci/pci_dev.h"

#define MSIX_MAX_VECTORS 2048
#define MSIX_ENTRY_SIZE 16

struct hv_vm;

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl; /* ctrl bit 0: masked */
};

struct msix {
	struct hv_vm *hv_vm;
	struct pci_dev *dev;
	uint8_t cap;		  /* config-space offset of the capability */
	unsigned int nvec;
	struct msix_entry *table;
	uint64_t *pba;
	int *irqfds;		  /* one eventfd per vector, bound to gsi_base + v */
	uint32_t gsi_base;
	bool enabled, function_masked;
};

/*
 * Adds the capability to `dev` (table at `table_off`, PBA at `pba_off`,
 * both in BAR `bar`) and binds `nvec` eventfds to GSIs gsi_base... through
 * irqfds. The table starts with every vector masked. Returns 0 or -errno.
 */
must_check int msix_init(struct msix *m, struct pci_dev *dev, struct hv_vm *hv_vm,
			 unsigned int nvec, unsigned int bar, uint32_t table_off,
			 uint32_t pba_off, uint32_t gsi_base);
void msix_destroy(struct msix *m);

/* Bytes the table and the PBA take in the BAR. */
uint32_t msix_table_size(unsigned int nvec);
uint32_t msix_pba_size(unsigned int nvec);

/* BAR accesses inside the table or the PBA (offsets relative to each). */
void msix_table_read(struct msix *m, uint64_t offset, void *data, uint32_t len);
void msix_table_write(struct msix *m, uint64_t offset, const void *data, uint32_t len);
void msix_pba_read(struct msix *m, uint64_t offset, void *data, uint32_t len);

/* The guest wrote config space: picks up enable and function-mask changes. */
void msix_cfg_written(struct msix *m, uint32_t offset, uint32_t len);

/* True if MSI-X is enabled (then INTx is not used). */
bool msix_enabled(const struct msix *m);

/* Signals vector `v` (or marks it pending while masked). Out-of-range v: ignored. */
void msix_notify(struct msix *m, unsigned int v);

#endif
