/*
 * One PCI function's configuration space (PCI Local Bus 3.0, chapter 6:
 * type-0 header, capability list) and its memory BARs, as Cove emulates
 * them. The device model fills the header and capabilities before the VM
 * runs; afterwards the guest reads and writes it through pci_bus (port
 * 0xCF8/0xCFC or ECAM), and only the bits the device declared writable
 * change.
 *
 * Guest-controlled: every config-space write and every BAR access. Writes
 * are masked per byte; BAR sizing (all ones, read back, restore) works by
 * the same masks; the extended space (256-4095) reads as zero.
 */
#ifndef COVE_PCI_PCI_DEV_H
#define COVE_PCI_PCI_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "vm/bus.h"

#define PCI_CFG_SPACE_SIZE 256
#define PCI_NUM_BARS 6

struct pci_dev;

/*
 * A memory BAR: `size` is a power of two >= 4 KiB; 64-bit BARs take two
 * BAR registers. Accesses arrive through `ops` with offsets relative to
 * the BAR, on vCPU threads, while memory decoding is on.
 */
struct pci_bar {
	uint64_t size;		/* 0: BAR not implemented */
	bool is64;
	const struct bus_ops *ops;
	void *opaque;
};

struct pci_dev {
	const char *name;
	uint8_t cfg[PCI_CFG_SPACE_SIZE];
	uint8_t wmask[PCI_CFG_SPACE_SIZE]; /* bits the guest may change */
	struct pci_bar bars[PCI_NUM_BARS];
	uint8_t next_cap;		   /* where the next capability goes */
	uint8_t *last_cap_next;		   /* the "next" byte to link it from */
	unsigned int slot;		   /* device number on bus 0, set by pci_bus */
	/*
	 * Called after the guest changed config bytes [offset, offset+len)
	 * (the bytes already hold the new value); may be NULL. Runs on a vCPU
	 * thread with the bus lock held.
	 */
	void (*cfg_written)(struct pci_dev *dev, uint32_t offset, uint32_t len);
	/*
	 * Called before the guest reads config bytes [offset, offset+len), so
	 * that registers backed by something else can be refreshed in `cfg`;
	 * may be NULL. Same thread and lock as cfg_written.
	 */
	void (*cfg_reading)(struct pci_dev *dev, uint32_t offset, uint32_t len);
	void *opaque;
};

/*
 * Fills a type-0 header: IDs, class (base, sub, prog-if in `class_code`
 * as 0xBBSSPP), revision, interrupt pin A, the writable command bits
 * (memory space, bus master, INTx disable) and the interrupt line.
 */
void pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		  uint16_t subsys_id);

/* Declares memory BAR `index`; a 64-bit BAR also uses index + 1. */
must_check int pci_dev_set_bar(struct pci_dev *dev, unsigned int index, uint64_t size,
			       bool is64, const struct bus_ops *ops, void *opaque);

/*
 * Appends a capability of `len` bytes whose first byte is `id`; returns its
 * config-space offset (the caller fills bytes 2.. and marks writable ones
 * with pci_dev_set_wmask), or -ENOSPC.
 */
int pci_dev_add_cap(struct pci_dev *dev, uint8_t id, uint8_t len);

/* Marks `len` bytes at `offset` writable with the given little-endian mask. */
void pci_dev_set_wmask(struct pci_dev *dev, uint32_t offset, uint64_t mask, uint32_t len);

/* Little-endian access to the config image (for device models). */
uint32_t pci_dev_cfg_get(const struct pci_dev *dev, uint32_t offset, uint32_t len);
void pci_dev_cfg_set(struct pci_dev *dev, uint32_t offset, uint32_t value, uint32_t len);

/* Guest config accesses: `offset` < 4096, len 1, 2 or 4, naturally aligned. */
uint32_t pci_dev_cfg_read(struct pci_dev *dev, uint32_t offset, uint32_t len);
void pci_dev_cfg_write(struct pci_dev *dev, uint32_t offset, uint32_t value, uint32_t len);

/* Where BAR `index` currently decodes, or false if it does not (memory
 * decoding off, or the BAR holds a sizing pattern outside guest windows). */
bool pci_dev_bar_addr(const struct pci_dev *dev, unsigned int index, uint64_t *addr);
/* The address BAR `index` holds, whether or not it decodes. */
uint64_t pci_dev_bar_base(const struct pci_dev *dev, unsigned int index);
/* Sets BAR `index`'s address (Cove's own placement, before the guest runs). */
void pci_dev_set_bar_addr(struct pci_dev *dev, unsigned int index, uint64_t addr);

#endif
