/*
 * What the device fuzz targets (fuzz_net, fuzz_vsock, fuzz_console_ctrl,
 * fuzz_balloon) share: the session they make once, the record loop that
 * replays an input against it, and collecting what the device gave back.
 * The driver's init sequence and the interrupt-counting transport are
 * virtio_test_start() and virtio_test_transport_attach(). harness.c is
 * linked into every target (`make fuzz` and `make fuzz-replay`).
 */
#ifndef COVE_TESTS_FUZZ_HARNESS_H
#define COVE_TESTS_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "virtio/virtq_driver.h"
#include "vm/guest_mem.h"

/* A target's first call: logging off (hostile inputs would flood it) and a
 * zeroed session of `size` bytes. Aborts when out of memory. */
void *fuzz_session_new(size_t size);

/* Guest RAM [0, size) in `gm`; aborts on failure. */
void fuzz_guest_ram(struct guest_mem *gm, uint64_t size);

/* Consumes one record at data[0..left); returns the bytes used, 0 to stop. */
typedef size_t (*fuzz_step_fn)(void *session, const uint8_t *data, size_t left);

/* Replays `data` record by record with `step`, calling `check` after each
 * record and once at the end. */
void fuzz_replay_records(void *session, const uint8_t *data, size_t size, fuzz_step_fn step,
			 void (*check)(void *session));

/* Collects every used entry of `drv`; returns 0, or -EPROTO when the device
 * gave back an illegal one (virtq_driver_get_used's check). */
int fuzz_collect_used(struct virtq_driver *drv);

#endif
