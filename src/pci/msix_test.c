/*
 * Unit tests for MSI-X: table and PBA as the guest sees them, routes
 * installed in the (fake) hypervisor, masking and pending bits.
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

#include "hv/fake/fake.h"
#include "pci/msix.h"

#define NVEC 3
#define GSI 40

struct fixture {
	struct hv *hv;
	struct hv_vm *vm;
	struct pci_dev dev;
	struct msix m;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(hv_fake_ops.open("fake", &f.hv), 0);
	assert_int_equal(hv_fake_ops.create_vm(f.hv, &f.vm), 0);
	pci_dev_init(&f.dev, "msix-test", 1, 2, 0, 0, 0, 0);
	assert_int_equal(msix_init(&f.m, &f.dev, f.vm, NVEC, 0, 0x4000, 0x5000, GSI), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	msix_destroy(&f->m);
	f->vm->ops->destroy(f->vm);
	f->hv->ops->close(f->hv);
	return 0;
}

/* How many times vector v's irqfd fired since the last call. */
static uint64_t fired(struct fixture *f, unsigned int v)
{
	uint64_t count = 0;

	if (read(f->m.irqfds[v], &count, sizeof(count)) < 0)
		return 0;
	return count;
}

static void write_entry(struct fixture *f, unsigned int v, uint64_t addr, uint32_t data,
			bool masked)
{
	uint32_t words[4] = { (uint32_t)addr, (uint32_t)(addr >> 32), data, masked };

	for (unsigned int i = 0; i < 4; i++)
		msix_table_write(&f->m, v * 16 + i * 4, &words[i], 4);
}

static void set_control(struct fixture *f, uint16_t flags)
{
	uint32_t off = f->m.cap + PCI_MSIX_FLAGS;

	pci_dev_cfg_write(&f->dev, off, flags, 2);
	msix_cfg_written(&f->m, off, 2);
}

static void test_capability_layout(void **state)
{
	struct fixture *f = *state;
	uint32_t off = f->m.cap;

	assert_int_equal(f->dev.cfg[off], PCI_CAP_ID_MSIX);
	assert_int_equal(pci_dev_cfg_get(&f->dev, off + PCI_MSIX_FLAGS, 2), NVEC - 1);
	assert_int_equal(pci_dev_cfg_get(&f->dev, off + PCI_MSIX_TABLE, 4), 0x4000);
	assert_int_equal(pci_dev_cfg_get(&f->dev, off + PCI_MSIX_PBA, 4), 0x5000);
	/* The table size field is read-only. */
	pci_dev_cfg_write(&f->dev, off + PCI_MSIX_FLAGS, 0x07ff, 2);
	assert_int_equal(pci_dev_cfg_get(&f->dev, off + PCI_MSIX_FLAGS, 2) & 0x7ff, NVEC - 1);
	for (unsigned int v = 0; v < NVEC; v++)
		assert_int_equal(hv_fake_vm(f->vm)->gsis[GSI + v].irqfd, f->m.irqfds[v]);
}

static void test_unmasked_vector_routes_and_fires(void **state)
{
	struct fixture *f = *state;
	struct fake_gsi *g = &hv_fake_vm(f->vm)->gsis[GSI + 1];

	set_control(f, PCI_MSIX_FLAGS_ENABLE);
	write_entry(f, 1, 0xfee01000, 0x4041, false);
	assert_true(g->msi_routed);
	assert_int_equal(g->msi_addr, 0xfee01000);
	assert_int_equal(g->msi_data, 0x4041);
	msix_notify(&f->m, 1);
	assert_int_equal(fired(f, 1), 1);
	assert_int_equal(fired(f, 0), 0);
}

static void test_masked_vector_is_pending_until_unmasked(void **state)
{
	struct fixture *f = *state;
	uint64_t pba = 0;

	set_control(f, PCI_MSIX_FLAGS_ENABLE);
	write_entry(f, 2, 0xfee00000, 0x30, true);
	msix_notify(&f->m, 2);
	assert_int_equal(fired(f, 2), 0);
	msix_pba_read(&f->m, 0, &pba, 8);
	assert_int_equal(pba, 1u << 2);
	write_entry(f, 2, 0xfee00000, 0x30, false);
	assert_int_equal(fired(f, 2), 1);
	msix_pba_read(&f->m, 0, &pba, 8);
	assert_int_equal(pba, 0);
}

static void test_function_mask_and_disable(void **state)
{
	struct fixture *f = *state;

	write_entry(f, 0, 0xfee00000, 0x31, false);
	msix_notify(&f->m, 0); /* MSI-X not enabled: pending */
	assert_int_equal(fired(f, 0), 0);
	set_control(f, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_int_equal(fired(f, 0), 0);
	set_control(f, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(fired(f, 0), 1);
	assert_true(msix_enabled(&f->m));
}

static void test_hostile_accesses_are_ignored(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 0;
	uint32_t ones = 0xffffffff;

	msix_notify(&f->m, NVEC);	  /* no such vector */
	msix_notify(&f->m, 1u << 31);
	msix_table_write(&f->m, NVEC * 16, &ones, 4); /* past the table */
	msix_table_write(&f->m, 2, &ones, 4);	       /* unaligned */
	msix_table_read(&f->m, NVEC * 16, &v, 8);
	assert_int_equal(v, UINT64_MAX);
	msix_pba_read(&f->m, 4096, &v, 8);
	assert_int_equal(v, 0);
	/* Reserved control bits do not stick. */
	msix_table_write(&f->m, 12, &ones, 4);
	msix_table_read(&f->m, 12, &v, 4);
	assert_int_equal(v & 0xffffffff, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmasked_vector_routes_and_fires, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_masked_vector_is_pending_until_unmasked,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_mask_and_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_accesses_are_ignored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
