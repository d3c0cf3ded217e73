/*
 * Unit tests for the virtio-pci transport: a dummy two-queue device on a
 * PCI bus over the fake hypervisor, driven through config space and BAR 0
 * the way Linux's virtio_pci_modern driver does it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#include "hv/fake/fake.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtq_driver.h"

#define RAM_SIZE (1 << 20)
#define MMIO64 0x400000000ULL
#define DUMMY_FEATURE 3

struct dummy {
	struct virtio_device vdev;
	uint32_t config;
	unsigned int activated, resets, kicks[2];
	struct event_loop *stop_loop;
};

static void dummy_config_read(struct virtio_device *vdev, uint32_t off, void *data, uint32_t len)
{
	struct dummy *d = container_of(vdev, struct dummy, vdev);

	memcpy(data, (uint8_t *)&d->config + off, len);
}

static int dummy_activate(struct virtio_device *vdev)
{
	container_of(vdev, struct dummy, vdev)->activated++;
	return 0;
}

static void dummy_reset(struct virtio_device *vdev)
{
	container_of(vdev, struct dummy, vdev)->resets++;
}

static void dummy_notify(struct virtio_device *vdev, unsigned int q)
{
	struct dummy *d = container_of(vdev, struct dummy, vdev);

	d->kicks[q]++;
	event_loop_stop(d->stop_loop);
}

static void dummy_destroy(struct virtio_device *vdev)
{
	(void)vdev;
}

static const struct virtio_dev_ops dummy_ops = {
	.config_read = dummy_config_read,
	.activate = dummy_activate,
	.reset = dummy_reset,
	.queue_notify = dummy_notify,
	.destroy = dummy_destroy,
};

struct fixture {
	struct bus pio, mmio;
	struct hv *hv;
	struct hv_vm *vm;
	struct pci_bus pci;
	struct guest_mem mem;
	struct event_loop loop;
	struct dummy d;
	struct virtio_pci vp;
	uint64_t bar;
};

static int setup_with(void **state, bool ioeventfds)
{
	static struct fixture f;
	const struct pci_bus_layout layout = {
		.config_port = 0xcf8, .ecam_base = 0xe0000000, .ecam_size = 0x100000,
		.mmio32_base = 0xc0000000, .mmio32_size = 0x20000000,
		.mmio64_base = MMIO64, .mmio64_size = 0x100000000ULL,
		.intx_gsi_base = 16, .intx_gsi_count = 8, .msi_gsi_base = 24,
	};

	memset(&f, 0, sizeof(f));
	bus_init(&f.pio);
	bus_init(&f.mmio);
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, RAM_SIZE), 0);
	assert_int_equal(event_loop_init(&f.loop), 0);
	assert_int_equal(hv_fake_ops.open("fake", &f.hv), 0);
	assert_int_equal(hv_fake_ops.create_vm(f.hv, &f.vm), 0);
	hv_fake_vm(f.vm)->ioeventfds_on = ioeventfds;
	assert_int_equal(pci_bus_init(&f.pci, &layout, f.vm, &f.pio, &f.mmio), 0);
	assert_int_equal(virtio_dev_init(&f.d.vdev, &dummy_ops, "dummy", 42, 1ULL << DUMMY_FEATURE,
					 4, 2, 64, &f.mem, &f.loop), 0);
	f.d.config = 0xa1b2c3d4;
	f.d.stop_loop = &f.loop;
	assert_int_equal(virtio_pci_create(&f.vp, &f.d.vdev, &f.pci, f.vm, &f.loop), 0);
	f.bar = pci_dev_bar_base(&f.vp.pci, 0);
	pci_dev_cfg_write(&f.vp.pci, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

/* The same with a hypervisor that catches doorbells in ioeventfds. */
static int setup_ioeventfds(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	virtio_pci_destroy(&f->vp);
	virtio_dev_destroy(&f->d.vdev);
	pci_bus_destroy(&f->pci);
	f->vm->ops->destroy(f->vm);
	f->hv->ops->close(f->hv);
	event_loop_destroy(&f->loop);
	guest_mem_destroy(&f->mem);
	return 0;
}

static uint64_t rd(struct fixture *f, uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	assert_true(bus_read(&f->mmio, f->bar + off, &v, len));
	return v;
}

static void wr(struct fixture *f, uint64_t off, uint64_t v, uint32_t len)
{
	assert_true(bus_write(&f->mmio, f->bar + off, &v, len));
}

#define COMMON(field) (VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_##field)

static void negotiate(struct fixture *f, uint64_t features)
{
	wr(f, COMMON(STATUS), 0, 1);
	wr(f, COMMON(STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	wr(f, COMMON(GFSELECT), 0, 4);
	wr(f, COMMON(GF), (uint32_t)features, 4);
	wr(f, COMMON(GFSELECT), 1, 4);
	wr(f, COMMON(GF), features >> 32, 4);
	wr(f, COMMON(STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				      VIRTIO_CONFIG_S_FEATURES_OK, 1);
}

static void test_identity_and_capabilities(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *dev = &f->vp.pci;
	unsigned int types = 0;

	assert_int_equal(pci_dev_cfg_get(dev, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pci_dev_cfg_get(dev, PCI_DEVICE_ID, 2), 0x1040 + 42);
	assert_true(pci_dev_cfg_get(dev, PCI_REVISION_ID, 1) >= 1);
	for (uint32_t c = dev->cfg[PCI_CAPABILITY_LIST]; c; c = dev->cfg[c + 1])
		if (dev->cfg[c] == PCI_CAP_ID_VNDR)
			types |= 1u << dev->cfg[c + VIRTIO_PCI_CAP_CFG_TYPE];
	assert_int_equal(types, 1u << VIRTIO_PCI_CAP_COMMON_CFG | 1u << VIRTIO_PCI_CAP_NOTIFY_CFG |
					1u << VIRTIO_PCI_CAP_ISR_CFG |
					1u << VIRTIO_PCI_CAP_DEVICE_CFG | 1u << VIRTIO_PCI_CAP_PCI_CFG);
	assert_int_equal(rd(f, COMMON(NUMQ), 2), 2);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF, 4), 0xa1b2c3d4);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 2, 2), 0xa1b2);
	/* Past the 4 config bytes: zero, and the device is not asked. */
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 4, 4), 0);
	assert_int_equal(rd(f, VIRTIO_PCI_DEVICE_OFF + 2, 4), 0);
}

static void test_feature_negotiation(void **state)
{
	struct fixture *f = *state;

	wr(f, COMMON(DFSELECT), 0, 4);
	assert_true(rd(f, COMMON(DF), 4) & (1u << DUMMY_FEATURE));
	wr(f, COMMON(DFSELECT), 1, 4);
	assert_true(rd(f, COMMON(DF), 4) & (1u << (VIRTIO_F_VERSION_1 - 32)));
	wr(f, COMMON(DFSELECT), 7, 4);
	assert_int_equal(rd(f, COMMON(DF), 4), 0);

	/* A bit that was not offered: FEATURES_OK does not stick. */
	negotiate(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << 7);
	assert_false(rd(f, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* Without VERSION_1 (a legacy driver): refused too. */
	negotiate(f, 1ULL << DUMMY_FEATURE);
	assert_false(rd(f, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	negotiate(f, 1ULL << VIRTIO_F_VERSION_1 | 1ULL << DUMMY_FEATURE);
	assert_true(rd(f, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(virtio_dev_has_feature(&f->d.vdev, DUMMY_FEATURE));
	/* Features are frozen after FEATURES_OK. */
	wr(f, COMMON(GFSELECT), 0, 4);
	wr(f, COMMON(GF), 0, 4);
	assert_int_equal(rd(f, COMMON(GF), 4), 1u << DUMMY_FEATURE);
}

/* Sets queue q up at `ring` the way Linux does, then enables it. */
static void setup_queue(struct fixture *f, uint16_t q, struct virtq_driver *drv, uint64_t ring,
			uint16_t vector)
{
	assert_int_equal(virtq_driver_init(drv, &f->mem, ring, 16, 0x4000), 0);
	wr(f, COMMON(Q_SELECT), q, 2);
	assert_int_equal(rd(f, COMMON(Q_SIZE), 2), 64);
	wr(f, COMMON(Q_SIZE), 16, 2);
	wr(f, COMMON(Q_DESCLO), drv->layout.desc, 4);
	wr(f, COMMON(Q_DESCHI), 0, 4);
	wr(f, COMMON(Q_AVAILLO), drv->layout.avail, 4);
	wr(f, COMMON(Q_AVAILHI), 0, 4);
	wr(f, COMMON(Q_USEDLO), drv->layout.used, 4);
	wr(f, COMMON(Q_USEDHI), 0, 4);
	wr(f, COMMON(Q_MSIX), vector, 2);
	wr(f, COMMON(Q_ENABLE), 1, 2);
}

static void test_queue_setup_kick_and_msix(void **state)
{
	struct fixture *f = *state;
	struct virtq_driver drv;
	uint64_t count;

	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	pci_dev_cfg_write(&f->vp.pci, f->vp.msix.cap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
	f->vp.pci.cfg_written(&f->vp.pci, f->vp.msix.cap + PCI_MSIX_FLAGS, 2);
	wr(f, COMMON(MSIX), 0, 2);
	assert_int_equal(rd(f, COMMON(MSIX), 2), 0);
	setup_queue(f, 1, &drv, 0x10000, 2);
	assert_int_equal(rd(f, COMMON(Q_ENABLE), 2), 1);
	assert_int_equal(rd(f, COMMON(Q_NOFF), 2), 1);
	assert_int_equal(rd(f, COMMON(Q_MSIX), 2), 2);
	/* Vector 3 does not exist (2 queues + config = 3 vectors). */
	wr(f, COMMON(Q_MSIX), 3, 2);
	assert_int_equal(rd(f, COMMON(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	wr(f, COMMON(Q_MSIX), 2, 2);
	/* Unmask vector 2 in the table. */
	wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 2 * 16, 0xfee00000, 4);
	wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 2 * 16 + 8, 0x41, 4);
	wr(f, VIRTIO_PCI_MSIX_TABLE_OFF + 2 * 16 + 12, 0, 4);

	wr(f, COMMON(STATUS), rd(f, COMMON(STATUS), 1) | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	assert_int_equal(f->d.activated, 1);
	/* A doorbell write reaches the device on the loop. */
	wr(f, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * 1, 1, 2);
	assert_int_equal(event_loop_run(&f->loop), 0);
	assert_int_equal(f->d.kicks[1], 1);
	assert_int_equal(f->d.kicks[0], 0);
	/* The device's queue interrupt goes out on vector 2. */
	pthread_mutex_lock(&f->d.vdev.lock);
	f->d.vdev.transport->notify_queue(&f->d.vdev, 1);
	pthread_mutex_unlock(&f->d.vdev.lock);
	assert_int_equal(read(f->vp.msix.irqfds[2], &count, sizeof(count)), 8);
	assert_int_equal(count, 1);
}

static void test_bad_queue_layout_needs_reset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	wr(f, COMMON(Q_SELECT), 0, 2);
	wr(f, COMMON(Q_SIZE), 48, 2); /* not a power of two */
	wr(f, COMMON(Q_DESCLO), 0x1000, 4);
	wr(f, COMMON(Q_AVAILLO), 0x2000, 4);
	wr(f, COMMON(Q_USEDLO), 0x3000, 4);
	wr(f, COMMON(Q_ENABLE), 1, 2);
	assert_int_equal(rd(f, COMMON(Q_ENABLE), 2), 0);
	assert_true(rd(f, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Larger than the device offers. */
	wr(f, COMMON(STATUS), 0, 1);
	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	wr(f, COMMON(Q_SIZE), 128, 2);
	wr(f, COMMON(Q_ENABLE), 1, 2);
	assert_true(rd(f, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Rings outside guest RAM. */
	wr(f, COMMON(STATUS), 0, 1);
	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	wr(f, COMMON(Q_DESCLO), 0xfffff000, 4);
	wr(f, COMMON(Q_ENABLE), 1, 2);
	assert_true(rd(f, COMMON(STATUS), 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(f->d.activated, 0);
}

static void test_reset_and_intx(void **state)
{
	struct fixture *f = *state;
	struct virtq_driver drv;
	struct fake_vm *vm = hv_fake_vm(f->vm);
	uint32_t gsi = 16 + f->vp.pci.slot % 8;
	unsigned int resets;

	negotiate(f, 1ULL << VIRTIO_F_VERSION_1);
	setup_queue(f, 0, &drv, 0x10000, VIRTIO_MSI_NO_VECTOR);
	wr(f, COMMON(STATUS), rd(f, COMMON(STATUS), 1) | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	/* MSI-X off: INTx with ISR bit 0, cleared by reading the ISR. */
	pthread_mutex_lock(&f->d.vdev.lock);
	f->d.vdev.transport->notify_queue(&f->d.vdev, 0);
	pthread_mutex_unlock(&f->d.vdev.lock);
	assert_true(vm->irq_level_mask & (1u << gsi));
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 1);
	assert_false(vm->irq_level_mask & (1u << gsi));
	assert_int_equal(rd(f, VIRTIO_PCI_ISR_OFF, 1), 0);

	resets = f->d.resets;
	wr(f, COMMON(STATUS), 0, 1);
	assert_int_equal(f->d.resets, resets + 1);
	assert_int_equal(rd(f, COMMON(STATUS), 1), 0);
	assert_int_equal(rd(f, COMMON(Q_ENABLE), 2), 0);
	assert_int_equal(rd(f, COMMON(Q_SIZE), 2), 64);
	assert_int_equal(rd(f, COMMON(MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	assert_false(f->d.vdev.queues[0].enabled);
}

static void test_hostile_register_accesses(void **state)
{
	struct fixture *f = *state;

	wr(f, COMMON(Q_SELECT), 9, 2); /* no such queue */
	assert_int_equal(rd(f, COMMON(Q_SIZE), 2), 0);
	wr(f, COMMON(Q_ENABLE), 1, 2);
	wr(f, COMMON(Q_SIZE), 8, 2);
	wr(f, 0x7ff, 0xffffffff, 1); /* reserved common offsets */
	wr(f, VIRTIO_PCI_NOTIFY_OFF + 3, 1, 1); /* misaligned doorbell */
	wr(f, VIRTIO_PCI_NOTIFY_OFF + 4 * 60, 1, 2); /* beyond the queues */
	wr(f, 0x7000, 1, 4); /* unused region */
	assert_int_equal(rd(f, 0x7000, 4), 0);
	assert_int_equal(f->d.kicks[0] + f->d.kicks[1], 0);
	assert_int_equal(rd(f, COMMON(STATUS), 1), 0);
}

/* The VIRTIO_PCI_CAP_PCI_CFG capability's config offset. */
static uint32_t pci_cfg_cap(struct pci_dev *dev)
{
	for (uint32_t c = dev->cfg[PCI_CAPABILITY_LIST]; c; c = dev->cfg[c + 1])
		if (dev->cfg[c] == PCI_CAP_ID_VNDR &&
		    dev->cfg[c + VIRTIO_PCI_CAP_CFG_TYPE] == VIRTIO_PCI_CAP_PCI_CFG)
			return c;
	fail_msg("no VIRTIO_PCI_CAP_PCI_CFG capability");
	return 0;
}

static void aim_window(struct pci_dev *dev, uint32_t bar, uint32_t offset, uint32_t len)
{
	uint32_t cap = pci_cfg_cap(dev);

	pci_dev_cfg_write(dev, cap + VIRTIO_PCI_CAP_BAR, bar, 1);
	pci_dev_cfg_write(dev, cap + VIRTIO_PCI_CAP_OFFSET, offset, 4);
	pci_dev_cfg_write(dev, cap + VIRTIO_PCI_CAP_LENGTH, len, 4);
}

#define WINDOW_DATA(dev) (pci_cfg_cap(dev) + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data))

static void test_pci_cfg_window(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *dev = &f->vp.pci;

	assert_int_equal(dev->cfg[pci_cfg_cap(dev) + VIRTIO_PCI_CAP_LEN],
			 sizeof(struct virtio_pci_cfg_cap));
	/* Reads go to BAR 0: the queue count, the device's config. */
	aim_window(dev, 0, COMMON(NUMQ), 2);
	assert_int_equal(pci_dev_cfg_read(dev, WINDOW_DATA(dev), 4), 2);
	aim_window(dev, 0, VIRTIO_PCI_DEVICE_OFF, 4);
	assert_int_equal(pci_dev_cfg_read(dev, WINDOW_DATA(dev), 4), 0xa1b2c3d4);
	/* Writes too: the status byte, seen through the BAR afterwards. */
	aim_window(dev, 0, COMMON(STATUS), 1);
	pci_dev_cfg_write(dev, WINDOW_DATA(dev), VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	assert_int_equal(rd(f, COMMON(STATUS), 1), VIRTIO_CONFIG_S_ACKNOWLEDGE);

	/* Hostile windows read zero and write nothing. */
	const uint32_t bad[][3] = {
		{ 1, COMMON(NUMQ), 2 },		      /* a BAR the device lacks */
		{ 0, COMMON(NUMQ), 3 },		      /* an odd length */
		{ 0, COMMON(NUMQ) + 1, 2 },	      /* misaligned */
		{ 0, VIRTIO_PCI_BAR_SIZE, 4 },	      /* past the BAR */
		{ 0, 0xfffffffc, 4 },		      /* far past it */
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aim_window(dev, bad[i][0], bad[i][1], bad[i][2]);
		assert_int_equal(pci_dev_cfg_read(dev, WINDOW_DATA(dev), 4), 0);
	}
	aim_window(dev, 1, COMMON(STATUS), 1);
	pci_dev_cfg_write(dev, WINDOW_DATA(dev), 0, 1);
	assert_int_equal(rd(f, COMMON(STATUS), 1), VIRTIO_CONFIG_S_ACKNOWLEDGE);
}

static bool has_ioeventfd(struct fixture *f, uint64_t addr)
{
	struct fake_vm *vm = hv_fake_vm(f->vm);

	for (unsigned int i = 0; i < vm->num_ioeventfds; i++)
		if (vm->ioeventfds[i].addr == addr)
			return true;
	return false;
}

/* A guest that moves BAR 0 takes the doorbell ioeventfds with it. */
static void test_doorbells_follow_bar(void **state)
{
	struct fixture *f = *state;
	struct pci_dev *dev = &f->vp.pci;
	const uint64_t moved = MMIO64 + 0x100000;

	assert_int_equal(hv_fake_vm(f->vm)->num_ioeventfds, 2);
	assert_true(has_ioeventfd(f, f->bar + VIRTIO_PCI_NOTIFY_OFF));
	assert_true(has_ioeventfd(f, f->bar + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT));

	/* Sizing with decoding off (as Linux does) moves nothing. */
	pci_dev_cfg_write(dev, PCI_COMMAND, 0, 2);
	pci_dev_cfg_write(dev, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	pci_dev_cfg_write(dev, PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	pci_dev_cfg_write(dev, PCI_BASE_ADDRESS_0, (uint32_t)moved, 4);
	pci_dev_cfg_write(dev, PCI_BASE_ADDRESS_1, (uint32_t)(moved >> 32), 4);
	assert_true(has_ioeventfd(f, f->bar + VIRTIO_PCI_NOTIFY_OFF));

	/* Decoding back on at the new address: the doorbells are there now. */
	pci_dev_cfg_write(dev, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	assert_int_equal(hv_fake_vm(f->vm)->num_ioeventfds, 2);
	assert_true(has_ioeventfd(f, moved + VIRTIO_PCI_NOTIFY_OFF));
	assert_true(has_ioeventfd(f, moved + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT));
	assert_false(has_ioeventfd(f, f->bar + VIRTIO_PCI_NOTIFY_OFF));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_capabilities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup_kick_and_msix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_queue_layout_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_intx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_register_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pci_cfg_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_doorbells_follow_bar, setup_ioeventfds,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
