/* PCI bus 0, its host bridge and its memory windows; see pci_bus.h. */
#include "pci/pci_bus.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "base/log.h"
#include "vm/irq.h"

/* CONFIG_ADDRESS (0xCF8): enable bit 31, bus 23:16, devfn 15:8, register 7:2. */
#define CONFIG_ENABLE (1u << 31)
/* ECAM: bus 27:20, devfn 19:12, register 11:0. */
#define ECAM_DEVFN_SHIFT 12
#define ECAM_BUS_SHIFT 20

/* The host bridge's identity: Red Hat's generic PCIe host bridge ID. */
#define HOST_BRIDGE_VENDOR 0x1b36
#define HOST_BRIDGE_DEVICE 0x0008
#define CLASS_HOST_BRIDGE 0x060000

static struct pci_dev *dev_at(struct pci_bus *bus, unsigned int devfn)
{
	unsigned int slot = devfn >> 3, fn = devfn & 7;

	/* Single-function devices only: functions 1-7 do not exist. */
	return slot < PCI_BUS_SLOTS && fn == 0 ? bus->devs[slot] : NULL;
}

uint32_t pci_bus_cfg_read(struct pci_bus *bus, unsigned int devfn, uint32_t reg, uint32_t len)
{
	struct pci_dev *dev;
	uint32_t v = 0xffffffff >> (32 - 8 * len);

	pthread_mutex_lock(&bus->lock);
	dev = dev_at(bus, devfn);
	if (dev)
		v = pci_dev_cfg_read(dev, reg, len);
	pthread_mutex_unlock(&bus->lock);
	return v;
}

void pci_bus_cfg_write(struct pci_bus *bus, unsigned int devfn, uint32_t reg, uint32_t value,
		       uint32_t len)
{
	struct pci_dev *dev;

	pthread_mutex_lock(&bus->lock);
	dev = dev_at(bus, devfn);
	if (dev)
		pci_dev_cfg_write(dev, reg, value, len);
	pthread_mutex_unlock(&bus->lock);
}

/*
 * Guest-controlled: CONFIG_ADDRESS and the width and offset of CONFIG_DATA
 * accesses. Only bus 0 exists; unaligned accesses are dropped.
 */
static bool decode_config_address(struct pci_bus *bus, uint64_t data_off, uint32_t len,
				   unsigned int *devfn, uint32_t *reg)
{
	uint32_t a = __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED);

	if (!(a & CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0 || (data_off & (len - 1)))
		return false;
	*devfn = (a >> 8) & 0xff;
	*reg = (a & 0xfc) + (uint32_t)data_off;
	return true;
}

static void config_port_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	unsigned int devfn;
	uint32_t reg, v = 0xffffffff;

	if (offset == 0 && len == 4)
		v = __atomic_load_n(&bus->config_address, __ATOMIC_RELAXED);
	else if (offset >= 4 && decode_config_address(bus, offset - 4, len, &devfn, &reg))
		v = pci_bus_cfg_read(bus, devfn, reg, len);
	memcpy(data, &v, len);
}

static void config_port_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	unsigned int devfn;
	uint32_t reg, v = 0;

	memcpy(&v, data, len);
	if (offset == 0 && len == 4)
		__atomic_store_n(&bus->config_address, v, __ATOMIC_RELAXED);
	else if (offset >= 4 && decode_config_address(bus, offset - 4, len, &devfn, &reg))
		pci_bus_cfg_write(bus, devfn, reg, v, len);
}

static const struct bus_ops config_port_ops = {
	.read = config_port_read,
	.write = config_port_write,
};

/* Guest-controlled: the ECAM offset and width; only bus 0 is decoded. */
static bool decode_ecam(uint64_t offset, uint32_t len, unsigned int *devfn, uint32_t *reg)
{
	if (len > 4 || (offset & (len - 1)) || (offset >> ECAM_BUS_SHIFT) != 0)
		return false;
	*devfn = (unsigned int)(offset >> ECAM_DEVFN_SHIFT) & 0xff;
	*reg = (uint32_t)offset & 0xfff;
	return true;
}

static void ecam_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	unsigned int devfn;
	uint32_t reg;
	uint64_t v = ~0ULL;

	if (decode_ecam(offset, len, &devfn, &reg))
		v = pci_bus_cfg_read(opaque, devfn, reg, len);
	memcpy(data, &v, len);
}

static void ecam_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	unsigned int devfn;
	uint32_t reg, v = 0;

	if (!decode_ecam(offset, len, &devfn, &reg))
		return;
	memcpy(&v, data, len);
	pci_bus_cfg_write(opaque, devfn, reg, v, len);
}

static const struct bus_ops ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
};

/*
 * The BAR decoding guest address `addr` (len bytes), if any, and the offset
 * inside it. BAR registers are read without the bus lock: a guest moving a
 * BAR while another vCPU accesses it gets one or the other mapping.
 */
static const struct pci_bar *find_bar(struct pci_bus *bus, uint64_t addr, uint32_t len,
				      uint64_t *offset)
{
	for (unsigned int s = 0; s < PCI_BUS_SLOTS; s++) {
		struct pci_dev *dev = bus->devs[s];

		for (unsigned int i = 0; dev && i < PCI_NUM_BARS; i++) {
			uint64_t base;

			if (!pci_dev_bar_addr(dev, i, &base) || addr < base ||
			    addr - base >= dev->bars[i].size ||
			    dev->bars[i].size - (addr - base) < len)
				continue;
			*offset = addr - base;
			return &dev->bars[i];
		}
	}
	return NULL;
}

/* Guest-controlled: any access inside a window; unclaimed addresses read
 * as all ones. */
static void window_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pci_window *w = opaque;
	const struct pci_bar *bar = find_bar(w->bus, w->base + offset, len, &offset);

	if (bar)
		bar->ops->read(bar->opaque, offset, data, len);
	else
		memset(data, 0xff, len);
}

static void window_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pci_window *w = opaque;
	const struct pci_bar *bar = find_bar(w->bus, w->base + offset, len, &offset);

	if (bar)
		bar->ops->write(bar->opaque, offset, data, len);
}

static const struct bus_ops window_ops = {
	.read = window_read,
	.write = window_write,
};

static void init_window(struct pci_bus *bus, struct pci_window *w, uint64_t base, uint64_t size)
{
	*w = (struct pci_window){ .bus = bus, .base = base, .size = size, .next = base };
}

int pci_bus_init(struct pci_bus *bus, const struct pci_bus_layout *layout, struct hv_vm *hv_vm,
		 struct bus *pio, struct bus *mmio)
{
	const struct pci_bus_layout *l = layout;
	int err;

	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->intx_lock, NULL);
	bus->hv_vm = hv_vm;
	bus->layout = *layout;
	bus->next_msi_gsi = l->msi_gsi_base;
	init_window(bus, &bus->mmio32, l->mmio32_base, l->mmio32_size);
	init_window(bus, &bus->mmio64, l->mmio64_base, l->mmio64_size);
	pci_dev_init(&bus->host_bridge, "host bridge", HOST_BRIDGE_VENDOR, HOST_BRIDGE_DEVICE,
		     CLASS_HOST_BRIDGE, 0, HOST_BRIDGE_VENDOR, 0x1100);
	pci_dev_cfg_set(&bus->host_bridge, PCI_INTERRUPT_PIN, 0, 1);
	bus->devs[0] = &bus->host_bridge;

	err = bus_register(pio, l->config_port, 8, &config_port_ops, bus, "pci-config");
	err = err ? err : bus_register(mmio, l->ecam_base, l->ecam_size, &ecam_ops, bus, "pci-ecam");
	err = err ? err : bus_register(mmio, l->mmio32_base, l->mmio32_size, &window_ops,
				       &bus->mmio32, "pci-mmio32");
	err = err ? err : bus_register(mmio, l->mmio64_base, l->mmio64_size, &window_ops,
				       &bus->mmio64, "pci-mmio64");
	if (err)
		pci_bus_destroy(bus);
	return err;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->intx_lock);
	pthread_mutex_destroy(&bus->lock);
}

static int place_bar(struct pci_window *w, struct pci_dev *dev, unsigned int index)
{
	uint64_t size = dev->bars[index].size;
	uint64_t addr = ALIGN_UP(w->next, size);

	if (addr < w->base || addr - w->base > w->size || w->size - (addr - w->base) < size)
		return -ENOSPC;
	pci_dev_set_bar_addr(dev, index, addr);
	w->next = addr + size;
	return 0;
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev)
{
	unsigned int slot = 1;
	int err = 0;

	while (slot < PCI_BUS_SLOTS && bus->devs[slot])
		slot++;
	if (slot == PCI_BUS_SLOTS)
		return -ENOSPC;
	for (unsigned int i = 0; i < PCI_NUM_BARS && !err; i++)
		if (dev->bars[i].size)
			err = place_bar(dev->bars[i].is64 ? &bus->mmio64 : &bus->mmio32, dev, i);
	if (err)
		return err;
	dev->slot = slot;
	bus->devs[slot] = dev;
	return 0;
}

void pci_bus_remove(struct pci_bus *bus, struct pci_dev *dev)
{
	pthread_mutex_lock(&bus->lock);
	if (dev->slot < PCI_BUS_SLOTS && bus->devs[dev->slot] == dev)
		bus->devs[dev->slot] = NULL;
	pthread_mutex_unlock(&bus->lock);
}

int pci_bus_alloc_msi_gsis(struct pci_bus *bus, uint32_t count, uint32_t *first)
{
	if (count > UINT32_MAX - bus->next_msi_gsi)
		return -ENOSPC;
	*first = bus->next_msi_gsi;
	bus->next_msi_gsi += count;
	return 0;
}

static uint32_t intx_gsi(const struct pci_bus *bus, unsigned int slot)
{
	return bus->layout.intx_gsi_base + slot % bus->layout.intx_gsi_count;
}

void pci_bus_set_intx(struct pci_bus *bus, unsigned int slot, bool level)
{
	uint32_t gsi = intx_gsi(bus, slot);
	bool line = false;

	pthread_mutex_lock(&bus->intx_lock);
	if (level)
		bus->intx_asserted |= 1u << slot;
	else
		bus->intx_asserted &= ~(1u << slot);
	for (unsigned int s = 0; s < PCI_BUS_SLOTS; s++)
		if ((bus->intx_asserted & (1u << s)) && intx_gsi(bus, s) == gsi)
			line = true;
	irq_line_set(&(struct irq_line){ .vm = bus->hv_vm, .gsi = gsi }, line);
	pthread_mutex_unlock(&bus->intx_lock);
}
