/*
 * The PC keyboard controller (Intel 8042) reduced to what a VM needs: the
 * reset line, and answers to everything Linux's i8042 driver
 * (drivers/input/serio/i8042.c) asks at probe, so it finds a controller
 * with a keyboard port and no AUX (mouse) port, quickly and quietly.
 *
 * Ports: I8042_DATA_PORT (0x60) and I8042_CMD_PORT (0x64, status on read,
 * command on write). No keyboard or mouse is attached and no interrupt line
 * is wired (IRQ 1 and 12 stay unused): bytes written to the keyboard are
 * dropped, which the guest sees as a keyboard that never answers.
 *
 * Reset: command 0xFE (pulse output-port bit 0; any 0xF0-0xFF command with
 * bit 0 clear does the same), or command 0xD1 followed by a data byte with
 * bit 0 clear, requests VM_EXIT_RESET once.
 */
#ifndef COVE_DEVICES_LEGACY_I8042_H
#define COVE_DEVICES_LEGACY_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "vm/bus.h"
#include "vm/vm_events.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

struct i8042 {
	pthread_mutex_t lock;
	struct vm_events events;
	uint8_t ctr;		/* controller command byte ("CTR") */
	uint8_t outport;	/* output port: bit 0 = reset (active low), bit 1 = A20 */
	uint8_t out_byte;	/* output buffer */
	bool out_full;		/* status OBF */
	bool out_aux;		/* status AUXDATA: out_byte came from the AUX side */
	bool last_was_cmd;	/* status CMD/DATA (A2) */
	uint8_t pending_cmd;	/* command waiting for its data byte, or 0 */
	bool reset_requested;
};

/* Initialises the controller; `events` is copied. Returns 0 or -errno. */
must_check int i8042_init(struct i8042 *k, const struct vm_events *events);
void i8042_destroy(struct i8042 *k);

/* Bus handlers for the 1-byte ranges at 0x60 and 0x64; opaque is the i8042. */
extern const struct bus_ops i8042_data_ops;
extern const struct bus_ops i8042_cmd_ops;

/* Claims ports 0x60 and 0x64 on `pio`. Returns 0 or bus_register's -errno. */
must_check int i8042_register(struct i8042 *k, struct bus *pio);

#endif
