/* One PCI function's configuration space; see pci_dev.h. */
#include "pci/pci_dev.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

/* Capabilities live after the type-0 header, dword-aligned. */
#define FIRST_CAP_OFFSET 0x40

void pci_dev_cfg_set(struct pci_dev *dev, uint32_t offset, uint32_t value, uint32_t len)
{
	for (uint32_t i = 0; i < len && offset + i < PCI_CFG_SPACE_SIZE; i++)
		dev->cfg[offset + i] = (uint8_t)(value >> (8 * i));
}

uint32_t pci_dev_cfg_get(const struct pci_dev *dev, uint32_t offset, uint32_t len)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < len && offset + i < PCI_CFG_SPACE_SIZE; i++)
		v |= (uint32_t)dev->cfg[offset + i] << (8 * i);
	return v;
}

void pci_dev_set_wmask(struct pci_dev *dev, uint32_t offset, uint64_t mask, uint32_t len)
{
	for (uint32_t i = 0; i < len && offset + i < PCI_CFG_SPACE_SIZE; i++)
		dev->wmask[offset + i] = (uint8_t)(mask >> (8 * i));
}

void pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor, uint16_t device,
		  uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		  uint16_t subsys_id)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	pci_dev_cfg_set(dev, PCI_VENDOR_ID, vendor, 2);
	pci_dev_cfg_set(dev, PCI_DEVICE_ID, device, 2);
	pci_dev_cfg_set(dev, PCI_REVISION_ID, revision, 1);
	pci_dev_cfg_set(dev, PCI_CLASS_PROG, class_code, 3);
	pci_dev_cfg_set(dev, PCI_HEADER_TYPE, PCI_HEADER_TYPE_NORMAL, 1);
	pci_dev_cfg_set(dev, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor, 2);
	pci_dev_cfg_set(dev, PCI_SUBSYSTEM_ID, subsys_id, 2);
	pci_dev_cfg_set(dev, PCI_INTERRUPT_PIN, 1, 1); /* INTA# */
	pci_dev_set_wmask(dev, PCI_COMMAND,
			  PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE, 2);
	pci_dev_set_wmask(dev, PCI_INTERRUPT_LINE, 0xff, 1);
	dev->next_cap = FIRST_CAP_OFFSET;
	dev->last_cap_next = &dev->cfg[PCI_CAPABILITY_LIST];
}

int pci_dev_set_bar(struct pci_dev *dev, unsigned int index, uint64_t size, bool is64,
		    const struct bus_ops *ops, void *opaque)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * index;
	uint32_t flags = is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : PCI_BASE_ADDRESS_MEM_TYPE_32;
	uint64_t mask = ~(size - 1);

	if (index + (is64 ? 1 : 0) >= PCI_NUM_BARS || size < 4096 || (size & (size - 1)) ||
	    (!is64 && size > (1ULL << 31)))
		return -EINVAL;
	dev->bars[index] = (struct pci_bar){ .size = size, .is64 = is64, .ops = ops,
					     .opaque = opaque };
	pci_dev_cfg_set(dev, reg, flags, 4);
	pci_dev_set_wmask(dev, reg, mask & ~0xfULL, 4);
	if (is64)
		pci_dev_set_wmask(dev, reg + 4, mask >> 32, 4);
	return 0;
}

int pci_dev_add_cap(struct pci_dev *dev, uint8_t id, uint8_t len)
{
	unsigned int off = dev->next_cap;

	if (len < 2 || off + len > PCI_CFG_SPACE_SIZE)
		return -ENOSPC;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0; /* end of list until another is added */
	*dev->last_cap_next = (uint8_t)off;
	dev->last_cap_next = &dev->cfg[off + 1];
	dev->next_cap = (uint8_t)ALIGN_UP(off + len, 4U);
	if (off + len >= PCI_CFG_SPACE_SIZE - 4)
		dev->next_cap = 0;
	pci_dev_cfg_set(dev, PCI_STATUS, pci_dev_cfg_get(dev, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST,
			2);
	return (int)off;
}

uint32_t pci_dev_cfg_read(struct pci_dev *dev, uint32_t offset, uint32_t len)
{
	if (offset >= PCI_CFG_SPACE_SIZE)
		return 0; /* no extended capabilities */
	if (dev->cfg_reading)
		dev->cfg_reading(dev, offset, len);
	return pci_dev_cfg_get(dev, offset, len);
}

void pci_dev_cfg_write(struct pci_dev *dev, uint32_t offset, uint32_t value, uint32_t len)
{
	for (uint32_t i = 0; i < len && offset + i < PCI_CFG_SPACE_SIZE; i++) {
		uint8_t m = dev->wmask[offset + i];
		uint8_t *b = &dev->cfg[offset + i];

		*b = (uint8_t)((*b & ~m) | ((value >> (8 * i)) & m));
	}
	/* The hook sees every write, changed or not. */
	if (dev->cfg_written && offset < PCI_CFG_SPACE_SIZE)
		dev->cfg_written(dev, offset, len);
}

uint64_t pci_dev_bar_base(const struct pci_dev *dev, unsigned int index)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * index;
	uint64_t v = pci_dev_cfg_get(dev, reg, 4) & ~0xfULL;

	if (dev->bars[index].is64)
		v |= (uint64_t)pci_dev_cfg_get(dev, reg + 4, 4) << 32;
	return v;
}

bool pci_dev_bar_addr(const struct pci_dev *dev, unsigned int index, uint64_t *addr)
{
	if (index >= PCI_NUM_BARS || dev->bars[index].size == 0)
		return false;
	if (!(pci_dev_cfg_get(dev, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY))
		return false;
	*addr = pci_dev_bar_base(dev, index);
	return true;
}

void pci_dev_set_bar_addr(struct pci_dev *dev, unsigned int index, uint64_t addr)
{
	uint32_t reg = PCI_BASE_ADDRESS_0 + 4 * index;
	uint32_t flags = pci_dev_cfg_get(dev, reg, 4) & 0xf;

	pci_dev_cfg_set(dev, reg, (uint32_t)addr | flags, 4);
	if (dev->bars[index].is64)
		pci_dev_cfg_set(dev, reg + 4, (uint32_t)(addr >> 32), 4);
}
