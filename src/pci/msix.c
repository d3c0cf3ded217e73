/* MSI-X emulation with KVM routes and irqfds; see msix.h. */
#include "pci/msix.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"
#include "hv/hv.h"

#define CTRL_MASKED 1u

uint32_t msix_table_size(unsigned int nvec)
{
	return nvec * MSIX_ENTRY_SIZE;
}

uint32_t msix_pba_size(unsigned int nvec)
{
	return ALIGN_UP(nvec, 64U) / 8;
}

static int bind_irqfds(struct msix *m)
{
	for (unsigned int v = 0; v < m->nvec; v++) {
		int err;

		m->irqfds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->irqfds[v] < 0)
			return -errno;
		err = m->hv_vm->ops->add_irqfd(m->hv_vm, m->gsi_base + v, m->irqfds[v]);
		if (err)
			return err;
	}
	return 0;
}

static void add_capability(struct msix *m, int cap, unsigned int bar, uint32_t table_off,
			   uint32_t pba_off)
{
	m->cap = (uint8_t)cap;
	pci_dev_cfg_set(m->dev, (uint32_t)cap + PCI_MSIX_FLAGS, m->nvec - 1, 2);
	pci_dev_set_wmask(m->dev, (uint32_t)cap + PCI_MSIX_FLAGS,
			  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
	pci_dev_cfg_set(m->dev, (uint32_t)cap + PCI_MSIX_TABLE, table_off | bar, 4);
	pci_dev_cfg_set(m->dev, (uint32_t)cap + PCI_MSIX_PBA, pba_off | bar, 4);
}

int msix_init(struct msix *m, struct pci_dev *dev, struct hv_vm *hv_vm, unsigned int nvec,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off, uint32_t gsi_base)
{
	int cap, err;

	memset(m, 0, sizeof(*m));
	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || (table_off & 7) || (pba_off & 7))
		return -EINVAL;
	m->dev = dev;
	m->hv_vm = hv_vm;
	m->nvec = nvec;
	m->gsi_base = gsi_base;
	m->table = calloc(nvec, sizeof(*m->table));
	m->pba = calloc(msix_pba_size(nvec) / 8, sizeof(*m->pba));
	m->irqfds = malloc(nvec * sizeof(*m->irqfds));
	if (!m->table || !m->pba || !m->irqfds) {
		err = -ENOMEM;
		goto fail;
	}
	for (unsigned int v = 0; v < nvec; v++) {
		m->table[v].ctrl = CTRL_MASKED;
		m->irqfds[v] = -1;
	}
	err = bind_irqfds(m);
	if (err)
		goto fail;
	cap = pci_dev_add_cap(dev, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
	if (cap < 0) {
		err = cap;
		goto fail;
	}
	add_capability(m, cap, bar, table_off, pba_off);
	return 0;

fail:
	msix_destroy(m);
	return err;
}

void msix_destroy(struct msix *m)
{
	for (unsigned int v = 0; m->irqfds && v < m->nvec; v++)
		if (m->irqfds[v] >= 0)
			close(m->irqfds[v]);
	free(m->irqfds);
	free(m->pba);
	free(m->table);
	m->irqfds = NULL;
	m->pba = NULL;
	m->table = NULL;
}

bool msix_enabled(const struct msix *m)
{
	return m->enabled;
}

static bool vector_masked(const struct msix *m, unsigned int v)
{
	return !m->enabled || m->function_masked || (m->table[v].ctrl & CTRL_MASKED);
}

static void fire(struct msix *m, unsigned int v)
{
	uint64_t one = 1;

	if (write(m->irqfds[v], &one, sizeof(one)) < 0)
		log_guest_once("MSI-X: cannot signal vector %u: %s", v, strerror(errno));
}

/* Installs vector v's route (its address/data may have changed). */
static void update_route(struct msix *m, unsigned int v)
{
	const struct msix_entry *e = &m->table[v];
	uint64_t addr = ((uint64_t)e->addr_hi << 32) | e->addr_lo;
	int err = m->hv_vm->ops->set_msi_route(m->hv_vm, m->gsi_base + v, addr, e->data);

	if (err)
		log_error("%s: cannot route MSI-X vector %u: %s", m->dev->name, v, strerror(-err));
}

/* After any change of masks: route and deliver what became deliverable. */
static void unmasked(struct msix *m, unsigned int v)
{
	uint64_t bit = 1ULL << (v % 64);

	update_route(m, v);
	if (m->pba[v / 64] & bit) {
		m->pba[v / 64] &= ~bit;
		fire(m, v);
	}
}

void msix_notify(struct msix *m, unsigned int v)
{
	if (v >= m->nvec)
		return;
	if (vector_masked(m, v))
		m->pba[v / 64] |= 1ULL << (v % 64);
	else
		fire(m, v);
}

void msix_table_read(struct msix *m, uint64_t offset, void *data, uint32_t len)
{
	uint64_t v = ~0ULL;

	if (offset < msix_table_size(m->nvec) && len <= 8 && !(offset & (len - 1)))
		memcpy(&v, (uint8_t *)m->table + offset, len);
	memcpy(data, &v, len);
}

void msix_table_write(struct msix *m, uint64_t offset, const void *data, uint32_t len)
{
	unsigned int v = (unsigned int)(offset / MSIX_ENTRY_SIZE);
	bool was_masked;

	if (offset >= msix_table_size(m->nvec) || len > 8 || (offset & (len - 1)))
		return;
	was_masked = vector_masked(m, v);
	memcpy((uint8_t *)m->table + offset, data, len);
	m->table[v].ctrl &= CTRL_MASKED; /* the other control bits are reserved */
	if (!vector_masked(m, v) && (was_masked || offset % MSIX_ENTRY_SIZE < 12))
		unmasked(m, v);
}

void msix_pba_read(struct msix *m, uint64_t offset, void *data, uint32_t len)
{
	uint64_t v = 0;

	if (offset < msix_pba_size(m->nvec) && len <= 8 && !(offset & (len - 1)))
		memcpy(&v, (uint8_t *)m->pba + offset, len);
	memcpy(data, &v, len);
}

void msix_cfg_written(struct msix *m, uint32_t offset, uint32_t len)
{
	uint32_t flags_off = m->cap + PCI_MSIX_FLAGS;
	uint16_t flags;
	bool was_enabled = m->enabled, was_masked = m->function_masked;

	if (offset + len <= flags_off || offset >= flags_off + 2)
		return;
	flags = (uint16_t)pci_dev_cfg_get(m->dev, flags_off, 2);
	m->enabled = flags & PCI_MSIX_FLAGS_ENABLE;
	m->function_masked = flags & PCI_MSIX_FLAGS_MASKALL;
	if (m->enabled == was_enabled && m->function_masked == was_masked)
		return;
	for (unsigned int v = 0; v < m->nvec; v++)
		if (!vector_masked(m, v))
			unmasked(m, v);
}
