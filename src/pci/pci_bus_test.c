/*
 * Unit tests for PCI bus 0: both configuration mechanisms, BAR sizing,
 * placement and dispatch, capability lists and shared INTx lines, driven
 * through the PIO and MMIO buses as a guest would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <linux/pci_regs.h>

#include "hv/fake/fake.h"
#include "pci/pci_bus.h"

#define ECAM 0xe0000000ULL
#define MMIO32 0xc0000000ULL
#define MMIO64 0x400000000ULL

struct fixture {
	struct bus pio, mmio;
	struct hv *hv;
	struct hv_vm *vm;
	struct pci_bus pci;
	struct pci_dev dev;
	uint8_t bar_mem[0x2000];
	unsigned int bar_writes;
};

static void bar_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct fixture *f = opaque;

	memcpy(data, f->bar_mem + offset, len);
}

static void bar_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct fixture *f = opaque;

	memcpy(f->bar_mem + offset, data, len);
	f->bar_writes++;
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static int setup(void **state)
{
	static struct fixture f;
	const struct pci_bus_layout layout = {
		.config_port = 0xcf8, .ecam_base = ECAM, .ecam_size = 0x100000,
		.mmio32_base = MMIO32, .mmio32_size = 0x20000000,
		.mmio64_base = MMIO64, .mmio64_size = 0x100000000ULL,
		.intx_gsi_base = 16, .intx_gsi_count = 8, .msi_gsi_base = 24,
	};

	memset(&f, 0, sizeof(f));
	bus_init(&f.pio);
	bus_init(&f.mmio);
	assert_int_equal(hv_fake_ops.open("fake", &f.hv), 0);
	assert_int_equal(hv_fake_ops.create_vm(f.hv, &f.vm), 0);
	assert_int_equal(pci_bus_init(&f.pci, &layout, f.vm, &f.pio, &f.mmio), 0);
	pci_dev_init(&f.dev, "test", 0x1af4, 0x1042, 0x010000, 1, 0x1af4, 0x1100);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_destroy(&f->pci);
	f->vm->ops->destroy(f->vm);
	f->hv->ops->close(f->hv);
	return 0;
}

/* Mechanism #1: CONFIG_ADDRESS then CONFIG_DATA (+ byte offset). */
static uint32_t cf8_read(struct fixture *f, unsigned int slot, uint32_t reg, uint32_t len)
{
	uint32_t addr = 0x80000000u | slot << 11 | (reg & 0xfc), v = 0;

	bus_write(&f->pio, 0xcf8, &addr, 4);
	bus_read(&f->pio, 0xcfc + (reg & 3), &v, len);
	return v;
}

static void cf8_write(struct fixture *f, unsigned int slot, uint32_t reg, uint32_t v,
		      uint32_t len)
{
	uint32_t addr = 0x80000000u | slot << 11 | (reg & 0xfc);

	bus_write(&f->pio, 0xcf8, &addr, 4);
	bus_write(&f->pio, 0xcfc + (reg & 3), &v, len);
}

static uint32_t ecam_read(struct fixture *f, unsigned int slot, uint32_t reg, uint32_t len)
{
	uint32_t v = 0;

	bus_read(&f->mmio, ECAM + ((uint64_t)slot << 15) + reg, &v, len);
	return v;
}

static void test_host_bridge_and_empty_slots(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cf8_read(f, 0, PCI_VENDOR_ID, 2), 0x1b36);
	assert_int_equal(cf8_read(f, 0, PCI_CLASS_DEVICE, 2), 0x0600);
	assert_int_equal(ecam_read(f, 0, PCI_DEVICE_ID, 2), 0x0008);
	assert_int_equal(cf8_read(f, 5, PCI_VENDOR_ID, 4), 0xffffffff);
	assert_int_equal(ecam_read(f, 31, PCI_VENDOR_ID, 2), 0xffff);
	/* Disabled CONFIG_ADDRESS and other buses read as no device. */
	{
		uint32_t addr = 0x00000000u, v = 0;

		bus_write(&f->pio, 0xcf8, &addr, 4);
		bus_read(&f->pio, 0xcfc, &v, 4);
		assert_int_equal(v, 0xffffffff);
		addr = 0x80010000u; /* bus 1 */
		bus_write(&f->pio, 0xcf8, &addr, 4);
		bus_read(&f->pio, 0xcfc, &v, 4);
		assert_int_equal(v, 0xffffffff);
	}
	assert_int_equal(ecam_read(f, 0, 0x100, 4), 0); /* no extended capabilities */
}

static void test_bar_sizing_placement_and_dispatch(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0x12345678, out = 0;
	uint64_t base;

	assert_int_equal(pci_dev_set_bar(&f->dev, 0, 0x2000, true, &bar_ops, f), 0);
	assert_int_equal(pci_dev_set_bar(&f->dev, 2, 0x1000, false, &bar_ops, f), 0);
	assert_int_equal(pci_bus_add(&f->pci, &f->dev), 0);
	assert_int_equal(f->dev.slot, 1);
	base = pci_dev_bar_base(&f->dev, 0);
	assert_int_equal(base, MMIO64);
	assert_int_equal(pci_dev_bar_base(&f->dev, 2), MMIO32);

	/* Decoding is off until the guest enables memory space. */
	bus_write(&f->mmio, base + 8, &v, 4);
	assert_int_equal(f->bar_writes, 0);
	cf8_write(f, 1, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	bus_write(&f->mmio, base + 8, &v, 4);
	assert_int_equal(f->bar_writes, 1);
	bus_read(&f->mmio, base + 8, &out, 4);
	assert_int_equal(out, 0x12345678);

	/* Sizing: all ones in, size mask and flags out; then restore. */
	cf8_write(f, 1, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
	cf8_write(f, 1, PCI_BASE_ADDRESS_1, 0xffffffff, 4);
	assert_int_equal(cf8_read(f, 1, PCI_BASE_ADDRESS_0, 4), 0xffffe000 | 0x4);
	assert_int_equal(cf8_read(f, 1, PCI_BASE_ADDRESS_1, 4), 0xffffffff);
	cf8_write(f, 1, PCI_BASE_ADDRESS_2, 0xffffffff, 4);
	assert_int_equal(cf8_read(f, 1, PCI_BASE_ADDRESS_2, 4), 0xfffff000);
	/* The guest moves BAR 0: dispatch follows. */
	cf8_write(f, 1, PCI_BASE_ADDRESS_0, (uint32_t)(MMIO32 + 0x10000), 4);
	cf8_write(f, 1, PCI_BASE_ADDRESS_1, 0, 4);
	out = 0;
	bus_read(&f->mmio, MMIO32 + 0x10000 + 8, &out, 4);
	assert_int_equal(out, 0x12345678);
	/* An access straddling the BAR's end is not dispatched. */
	out = 0;
	bus_read(&f->mmio, MMIO32 + 0x10000 + 0x1ffe, &out, 4);
	assert_int_equal(out, 0xffffffff);
}

static void test_read_only_bits_and_capabilities(void **state)
{
	struct fixture *f = *state;
	int cap1, cap2;

	cap1 = pci_dev_add_cap(&f->dev, PCI_CAP_ID_VNDR, 16);
	cap2 = pci_dev_add_cap(&f->dev, PCI_CAP_ID_MSIX, 12);
	assert_int_equal(cap1, 0x40);
	assert_int_equal(cap2, 0x50);
	assert_int_equal(pci_bus_add(&f->pci, &f->dev), 0);
	assert_true(cf8_read(f, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cf8_read(f, 1, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(cf8_read(f, 1, 0x41, 1), 0x50);
	assert_int_equal(cf8_read(f, 1, 0x51, 1), 0);
	/* IDs, class and the capability list cannot be changed by the guest. */
	cf8_write(f, 1, PCI_VENDOR_ID, 0xdeadbeef, 4);
	cf8_write(f, 1, PCI_CAPABILITY_LIST, 0x80, 1);
	cf8_write(f, 1, 0x40, 0xffffffff, 4);
	assert_int_equal(cf8_read(f, 1, PCI_VENDOR_ID, 4), 0x10421af4);
	assert_int_equal(cf8_read(f, 1, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(cf8_read(f, 1, 0x40, 2), 0x5009);
	/* Unaligned CONFIG_DATA accesses are dropped. */
	assert_int_equal(cf8_read(f, 1, 0x41, 2), 0xffff);
	/* The interrupt line is the guest's to write. */
	cf8_write(f, 1, PCI_INTERRUPT_LINE, 11, 1);
	assert_int_equal(cf8_read(f, 1, PCI_INTERRUPT_LINE, 1), 11);
	assert_int_equal(cf8_read(f, 1, PCI_INTERRUPT_PIN, 1), 1);
}

static void test_shared_intx_lines_are_ored(void **state)
{
	struct fixture *f = *state;
	struct fake_vm *vm = hv_fake_vm(f->vm);

	/* Slots 1 and 9 share GSI 17. */
	pci_bus_set_intx(&f->pci, 1, true);
	pci_bus_set_intx(&f->pci, 9, true);
	assert_true(vm->irq_level_mask & (1u << 17));
	pci_bus_set_intx(&f->pci, 1, false);
	assert_true(vm->irq_level_mask & (1u << 17));
	pci_bus_set_intx(&f->pci, 9, false);
	assert_false(vm->irq_level_mask & (1u << 17));
	pci_bus_set_intx(&f->pci, 2, true);
	assert_true(vm->irq_level_mask & (1u << 18));
}

static void test_slots_run_out(void **state)
{
	struct fixture *f = *state;
	static struct pci_dev devs[32];
	unsigned int added = 0;

	for (unsigned int i = 0; i < 32; i++) {
		pci_dev_init(&devs[i], "d", 1, 2, 0, 0, 0, 0);
		if (pci_bus_add(&f->pci, &devs[i]) == 0)
			added++;
	}
	assert_int_equal(added, 31); /* slot 0 is the host bridge */
	pci_bus_remove(&f->pci, &devs[3]);
	assert_int_equal(cf8_read(f, devs[3].slot, PCI_VENDOR_ID, 2), 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_bridge_and_empty_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_placement_and_dispatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_read_only_bits_and_capabilities, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shared_intx_lines_are_ored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_run_out, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
