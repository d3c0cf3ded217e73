/*
 * Keyboard controller (see i8042.h). Register and command meanings follow
 * the IBM PC/AT technical reference for the 8042 and the commands Linux's
 * i8042 driver sends (its I8042_CMD_* values):
 *
 *  - the status register reads IBF clear (commands complete at once), the
 *    system flag set, the keylock bit set (not locked) and OBF only while a
 *    response is waiting in the output buffer;
 *  - 0x20/0x60 read and write the command byte, 0xAA answers 0x55, 0xAB and
 *    0xA9 answer 0x00, 0xAD/0xAE/0xA7/0xA8 are accepted, 0xD2/0xD3 echo the
 *    next data byte as keyboard/AUX data, 0xD0/0xD1 read and write the
 *    output port;
 *  - there is no AUX port, so the command byte's AUX-disable bit (0x20)
 *    stays set: Linux's "bit assignment test" then decides the AUX port is
 *    absent without waiting for an AUX interrupt that would never come.
 *
 * Every command that has a response answers at once, so the guest's
 * polling never times out.
 */
#include "devices/legacy/i8042.h"

#include <string.h>

#include "base/log.h"

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04
#define STATUS_CMD 0x08
#define STATUS_KEYLOCK 0x10	/* 1 = keyboard not locked */
#define STATUS_AUXDATA 0x20

#define CTR_KBDINT 0x01
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40

#define OUTPORT_RESET_N 0x01	/* system reset, active low */
#define OUTPORT_A20 0x02

enum {
	CMD_READ_CTR = 0x20,
	CMD_WRITE_CTR = 0x60,
	CMD_AUX_DISABLE = 0xa7,
	CMD_AUX_ENABLE = 0xa8,
	CMD_AUX_TEST = 0xa9,
	CMD_SELF_TEST = 0xaa,
	CMD_KBD_TEST = 0xab,
	CMD_KBD_DISABLE = 0xad,
	CMD_KBD_ENABLE = 0xae,
	CMD_READ_OUTPORT = 0xd0,
	CMD_WRITE_OUTPORT = 0xd1,
	CMD_KBD_LOOP = 0xd2,
	CMD_AUX_LOOP = 0xd3,
	CMD_AUX_SEND = 0xd4,
	CMD_A20_OFF = 0xdd,
	CMD_A20_ON = 0xdf,
};

#define SELF_TEST_OK 0x55
#define INTERFACE_OK 0x00

/* ---- state changes (callers hold the lock) ---- */

static void respond(struct i8042 *k, uint8_t byte, bool aux)
{
	k->out_byte = byte;
	k->out_full = true;
	k->out_aux = aux;
}

/* Returns true the first time only: the caller then asks the VM to reset. */
static bool claim_reset(struct i8042 *k)
{
	if (k->reset_requested)
		return false;
	k->reset_requested = true;
	return true;
}

/* Commands 0x60-0x7F, 0x90-0x93 and 0xD1-0xD4 take the next data byte. */
static bool takes_data(uint8_t cmd)
{
	return (cmd >= 0x60 && cmd <= 0x7f) || (cmd >= 0x90 && cmd <= 0x93) ||
	       (cmd >= CMD_WRITE_OUTPORT && cmd <= CMD_AUX_SEND);
}

/* Guest-controlled: cmd. Returns true if the command resets the machine. */
static bool do_command(struct i8042 *k, uint8_t cmd)
{
	k->last_was_cmd = true;
	k->pending_cmd = takes_data(cmd) ? cmd : 0;
	if (k->pending_cmd)
		return false;

	switch (cmd) {
	case CMD_READ_CTR:
		respond(k, k->ctr, false);
		break;
	case CMD_AUX_DISABLE:
	case CMD_AUX_ENABLE:
		break; /* no AUX port: CTR_AUXDIS stays set */
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		respond(k, INTERFACE_OK, false);
		break;
	case CMD_SELF_TEST:
		k->ctr |= CTR_SYS;
		respond(k, SELF_TEST_OK, false);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_OUTPORT:
		respond(k, k->outport, false);
		break;
	case CMD_A20_OFF:
		k->outport &= (uint8_t)~OUTPORT_A20;
		break;
	case CMD_A20_ON:
		k->outport |= OUTPORT_A20;
		break;
	default:
		/* 0xF0-0xFF pulse output-port bits 3:0 that are 0 in the command. */
		if ((cmd & 0xf0) == 0xf0)
			return !(cmd & OUTPORT_RESET_N);
		log_guest_once("i8042: unsupported command 0x%02x ignored", cmd);
		break;
	}
	return false;
}

/* Guest-controlled: val. Returns true if the write resets the machine. */
static bool do_data(struct i8042 *k, uint8_t val)
{
	uint8_t cmd = k->pending_cmd;

	k->last_was_cmd = false;
	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = val | CTR_AUXDIS;
		break;
	case CMD_WRITE_OUTPORT:
		k->outport = val;
		return !(val & OUTPORT_RESET_N);
	case CMD_KBD_LOOP:
		respond(k, val, false);
		break;
	case CMD_AUX_LOOP:
		respond(k, val, true);
		break;
	default:
		/* Keyboard/AUX/MUX bytes and RAM writes: nothing is attached. */
		break;
	}
	return false;
}

static uint8_t read_status(const struct i8042 *k)
{
	uint8_t st = STATUS_KEYLOCK;

	if (k->out_full)
		st |= STATUS_OBF;
	if (k->out_full && k->out_aux)
		st |= STATUS_AUXDATA;
	if (k->ctr & CTR_SYS)
		st |= STATUS_SYS;
	if (k->last_was_cmd)
		st |= STATUS_CMD;
	return st;
}

static uint8_t read_data(struct i8042 *k)
{
	k->out_full = false;
	k->out_aux = false;
	return k->out_byte;
}

/* ---- bus handlers (1-byte ranges; wider accesses act on each byte) ---- */

static void request_reset(struct i8042 *k, bool reset)
{
	if (!reset)
		return;
	log_info("i8042: guest requested a system reset");
	vm_events_request(&k->events, VM_EXIT_RESET);
}

static void data_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct i8042 *k = opaque;
	uint8_t *out = data;

	(void)offset;
	pthread_mutex_lock(&k->lock);
	for (uint32_t i = 0; i < len; i++)
		out[i] = read_data(k);
	pthread_mutex_unlock(&k->lock);
}

/* Feeds each byte to handle() under the lock; a reset it asks for is requested after. */
static void write_bytes(struct i8042 *k, const uint8_t *in, uint32_t len,
			bool (*handle)(struct i8042 *k, uint8_t byte))
{
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	for (uint32_t i = 0; i < len; i++)
		if (handle(k, in[i]))
			reset |= claim_reset(k);
	pthread_mutex_unlock(&k->lock);
	request_reset(k, reset);
}

static void data_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	write_bytes(opaque, data, len, do_data);
}

static void cmd_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct i8042 *k = opaque;

	(void)offset;
	pthread_mutex_lock(&k->lock);
	memset(data, read_status(k), len);
	pthread_mutex_unlock(&k->lock);
}

static void cmd_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	(void)offset;
	write_bytes(opaque, data, len, do_command);
}

const struct bus_ops i8042_data_ops = { .read = data_read, .write = data_write };
const struct bus_ops i8042_cmd_ops = { .read = cmd_read, .write = cmd_write };

int i8042_init(struct i8042 *k, const struct vm_events *events)
{
	int ret;

	memset(k, 0, sizeof(*k));
	ret = pthread_mutex_init(&k->lock, NULL);
	if (ret != 0)
		return -ret;
	if (events)
		k->events = *events;
	/* As firmware leaves it: keyboard interrupt on, translation, POST done. */
	k->ctr = CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE;
	k->outport = OUTPORT_RESET_N | OUTPORT_A20;
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

int i8042_register(struct i8042 *k, struct bus *pio)
{
	int ret = bus_register(pio, I8042_DATA_PORT, 1, &i8042_data_ops, k, "i8042-data");

	if (ret < 0)
		return ret;
	return bus_register(pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, k, "i8042-cmd");
}
