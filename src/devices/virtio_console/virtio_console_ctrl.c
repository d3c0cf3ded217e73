/*
 * virtio-console control messages, parse and build (virtio 1.x section
 * 5.3.6.2); see virtio_console_ctrl.h.
 */
#include "devices/virtio_console/virtio_console_ctrl.h"

#include <endian.h>
#include <linux/virtio_console.h>
#include <string.h>

_Static_assert(sizeof(struct virtio_console_control) == VIRTIO_CONSOLE_CTRL_HDR_SIZE,
	       "control header size");

enum virtio_console_ctrl_verdict virtio_console_ctrl_parse(const void *buf, size_t len,
							   uint32_t nr_ports,
							   struct virtio_console_ctrl_msg *msg)
{
	struct virtio_console_control raw;
	uint32_t id;
	uint16_t event, value;

	/* Guest-controlled: copied once, then validated. */
	if (len < sizeof(raw))
		return VIRTIO_CONSOLE_CTRL_SHORT;
	memcpy(&raw, buf, sizeof(raw));
	id = le32toh(raw.id);
	event = le16toh(raw.event);
	value = le16toh(raw.value);

	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		break; /* id unused: Linux sends VIRTIO_CONSOLE_BAD_ID */
	case VIRTIO_CONSOLE_PORT_READY:
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (id >= nr_ports)
			return VIRTIO_CONSOLE_CTRL_BAD_ID;
		break;
	default: /* PORT_ADD, CONSOLE_PORT, RESIZE, ...: device-to-driver only */
		return VIRTIO_CONSOLE_CTRL_BAD_EVENT;
	}
	if (value > 1)
		return VIRTIO_CONSOLE_CTRL_BAD_VALUE;
	*msg = (struct virtio_console_ctrl_msg){ .id = id, .event = event, .value = value };
	return VIRTIO_CONSOLE_CTRL_OK;
}

const char *virtio_console_ctrl_verdict_str(enum virtio_console_ctrl_verdict v)
{
	switch (v) {
	case VIRTIO_CONSOLE_CTRL_OK:
		return "ok";
	case VIRTIO_CONSOLE_CTRL_SHORT:
		return "control message shorter than its header";
	case VIRTIO_CONSOLE_CTRL_BAD_EVENT:
		return "control event a driver may not send";
	case VIRTIO_CONSOLE_CTRL_BAD_ID:
		return "control message for a port that does not exist";
	case VIRTIO_CONSOLE_CTRL_BAD_VALUE:
		return "control value other than 0 or 1";
	}
	return "unknown verdict";
}

size_t virtio_console_ctrl_build(void *buf, size_t cap, uint32_t id, uint16_t event,
				 uint16_t value, const void *payload, size_t payload_len)
{
	struct virtio_console_control hdr = {
		.id = htole32(id),
		.event = htole16(event),
		.value = htole16(value),
	};

	if (cap < sizeof(hdr) || payload_len > cap - sizeof(hdr))
		return 0;
	memcpy(buf, &hdr, sizeof(hdr));
	if (payload_len)
		memcpy((char *)buf + sizeof(hdr), payload, payload_len);
	return sizeof(hdr) + payload_len;
}
