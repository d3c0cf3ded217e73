/*
 * virtio-console control messages (virtio 1.x section 5.3.6.2, "Multiport
 * Device Operation"): parsing what the driver sends on the control
 * transmit queue and building what the device sends on the control receive
 * queue. Bytes in, struct out: no device state and no I/O, so unit tests
 * and the fuzzer (tests/fuzz/fuzz_console_ctrl.c) drive it directly.
 *
 * Wire format: struct virtio_console_control {le32 id; le16 event;
 * le16 value} (linux/virtio_console.h), optionally followed by a payload
 * (PORT_NAME: the name, no NUL; RESIZE: rows, cols).
 */
#ifndef COVE_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_CTRL_H
#define COVE_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_CTRL_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

/* Size of the fixed header; a PORT_NAME payload is at most this long. */
#define VIRTIO_CONSOLE_CTRL_HDR_SIZE 8
#define VIRTIO_CONSOLE_CTRL_NAME_MAX 128

/* A validated driver-to-device message, in host byte order. */
struct virtio_console_ctrl_msg {
	uint32_t id;	/* < nr_ports, except for DEVICE_READY (unused there) */
	uint16_t event; /* DEVICE_READY, PORT_READY or PORT_OPEN */
	uint16_t value; /* 0 or 1 */
};

/* Why a driver-to-device message was refused. */
enum virtio_console_ctrl_verdict {
	VIRTIO_CONSOLE_CTRL_OK,
	VIRTIO_CONSOLE_CTRL_SHORT,     /* fewer than 8 bytes */
	VIRTIO_CONSOLE_CTRL_BAD_EVENT, /* not an event a driver sends */
	VIRTIO_CONSOLE_CTRL_BAD_ID,    /* port id >= nr_ports */
	VIRTIO_CONSOLE_CTRL_BAD_VALUE, /* value other than 0 or 1 */
};

/*
 * Guest-controlled: `buf` holds `len` bytes the driver wrote. Validates
 * them against a device of `nr_ports` ports and fills *msg on success
 * (bytes after the header are ignored: driver messages carry no payload).
 */
must_check enum virtio_console_ctrl_verdict
virtio_console_ctrl_parse(const void *buf, size_t len, uint32_t nr_ports,
			  struct virtio_console_ctrl_msg *msg);

/* A short description of a verdict, for log lines. */
const char *virtio_console_ctrl_verdict_str(enum virtio_console_ctrl_verdict v);

/*
 * Builds a device-to-driver message into `buf` (little-endian header, then
 * `payload_len` bytes of payload). Returns the message size, or 0 if it
 * does not fit in `cap`.
 */
size_t virtio_console_ctrl_build(void *buf, size_t cap, uint32_t id, uint16_t event,
				 uint16_t value, const void *payload, size_t payload_len);

#endif
