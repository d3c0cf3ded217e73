/*
 * TAP interfaces for virtio-net (Linux Documentation/networking/tuntap.rst);
 * see tap.h.
 */
#include "backends/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"

#define ALL_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO)

static void tap_init(struct tap *tap)
{
	memset(tap, 0, sizeof(*tap));
	for (unsigned int i = 0; i < TAP_MAX_QUEUES; i++)
		tap->fds[i] = -1;
}

static int open_queue(const char *name, short flags, int *out)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int err;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/* The header size and the offloads this tap supports (left all off). */
static int setup_vnet(struct tap *tap)
{
	static const unsigned int tries[] = {ALL_OFFLOADS, ALL_OFFLOADS & ~TUN_F_UFO,
					     TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_F_CSUM};
	int hdr = TAP_VNET_HDR_LEN;

	if (tap->vnet_hdr && ioctl(tap->fds[0], TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	tap->offloads = 0;
	for (size_t i = 0; tap->vnet_hdr && i < ARRAY_SIZE(tries); i++) {
		if (ioctl(tap->fds[0], TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) {
			tap->offloads = tries[i];
			break;
		}
	}
	/* Nothing may reach the guest before it accepts it. */
	if (tap->vnet_hdr && ioctl(tap->fds[0], TUNSETOFFLOAD, 0UL) < 0)
		return -errno;
	return 0;
}

/* One line for a failed TUNSETIFF on the first queue. */
static void explain_open(const char *name, bool exists, bool mq, int err, char *msg, size_t len)
{
	if (err == -ENOENT || err == -ENODEV)
		snprintf(msg, len, "tap %s: cannot open /dev/net/tun: %s", name, strerror(-err));
	else if ((err == -EPERM || err == -EACCES) && !exists)
		snprintf(msg, len,
			 "tap %s does not exist and Cove may not create it (needs CAP_NET_ADMIN): "
			 "create it first, e.g. `ip tuntap add dev %s mode tap user $USER`",
			 name, name);
	else if (err == -EPERM || err == -EACCES)
		snprintf(msg, len,
			 "tap %s: permission denied: it belongs to another user or group "
			 "(ip tuntap add ... user/group), or Cove needs CAP_NET_ADMIN",
			 name);
	else if (err == -EBUSY)
		snprintf(msg, len, "tap %s is already in use by another process", name);
	else if (err == -EINVAL && exists && mq)
		snprintf(msg, len,
			 "%s is not a multi-queue tap: vq-pairs > 1 needs one created with "
			 "`ip tuntap add dev %s mode tap multi_queue`",
			 name, name);
	else if (err == -EINVAL && exists)
		snprintf(msg, len, "%s is not a tap interface", name);
	else
		snprintf(msg, len, "tap %s: cannot attach: %s", name, strerror(-err));
}

static int open_first(struct tap *tap, const char *name, unsigned int queues, char *msg, size_t len)
{
	const short base = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	bool exists = if_nametoindex(name) != 0;
	bool mq = queues > 1;
	int err = open_queue(name, (short)(base | (mq ? IFF_MULTI_QUEUE : 0)), &tap->fds[0]);

	/* One queue: take the existing tap in whichever mode it was made. */
	if (err == -EINVAL && exists && !mq) {
		err = open_queue(name, (short)(base | IFF_MULTI_QUEUE), &tap->fds[0]);
		mq = err == 0;
	}
	if (err) {
		explain_open(name, exists, queues > 1, err, msg, len);
		return err;
	}
	tap->multi_queue = mq;
	if (!exists)
		log_info("tap %s: created (it goes away when Cove exits)", name);
	return 0;
}

int tap_open(struct tap *tap, const char *name, unsigned int queues, char *err, size_t errlen)
{
	int ret;

	tap_init(tap);
	if (queues == 0 || queues > TAP_MAX_QUEUES || !name[0] || strlen(name) >= IF_NAMESIZE) {
		snprintf(err, errlen, "tap '%s': bad name or queue count", name);
		return -EINVAL;
	}
	snprintf(tap->name, sizeof(tap->name), "%s", name);
	tap->owned = true;
	tap->vnet_hdr = true;
	ret = open_first(tap, name, queues, err, errlen);
	if (ret)
		return ret;
	tap->num_queues = 1;
	for (unsigned int q = 1; q < queues; q++) {
		ret = open_queue(name, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE,
				 &tap->fds[q]);
		if (ret) {
			snprintf(err, errlen, "tap %s: cannot open queue %u: %s", name, q,
				 strerror(-ret));
			goto close;
		}
		tap->num_queues++;
	}
	ret = setup_vnet(tap);
	if (ret) {
		snprintf(err, errlen, "tap %s: cannot set up the virtio-net header: %s", name,
			 strerror(-ret));
		goto close;
	}
	return 0;

close:
	tap_close(tap);
	return ret;
}

int tap_adopt_fd(struct tap *tap, int fd, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fl, ret;

	tap_init(tap);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		snprintf(err, errlen, "tap-fd=%d: not an open file descriptor", fd);
		return -EBADF;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_TAP)) {
		snprintf(err, errlen, "tap-fd=%d: not a file descriptor of a tap interface", fd);
		return -EINVAL;
	}
	if (!(ifr.ifr_flags & IFF_NO_PI)) {
		snprintf(err, errlen, "tap-fd=%d (%s): opened without IFF_NO_PI", fd, ifr.ifr_name);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		ret = -errno;
		snprintf(err, errlen, "tap-fd=%d: %s", fd, strerror(errno));
		return ret;
	}
	snprintf(tap->name, sizeof(tap->name), "%s", ifr.ifr_name);
	tap->fds[0] = fd;
	tap->num_queues = 1;
	tap->owned = true;
	tap->vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	tap->multi_queue = ifr.ifr_flags & IFF_MULTI_QUEUE;
	ret = setup_vnet(tap);
	if (ret) {
		snprintf(err, errlen, "tap-fd=%d (%s): cannot set up the virtio-net header: %s", fd,
			 tap->name, strerror(-ret));
		tap->fds[0] = -1; /* still the caller's */
		return ret;
	}
	return 0;
}

int tap_set_offload(struct tap *tap, unsigned int tun_flags)
{
	tun_flags &= tap->offloads;
	if (!(tun_flags & TUN_F_CSUM))
		tun_flags = 0; /* every segmentation offload needs checksum offload */
	if (!tap->vnet_hdr || tun_flags == tap->cur_offloads)
		return 0;
	/* A tap-wide setting; queue 0 is always attached (a detached fd refuses it). */
	if (ioctl(tap->fds[0], TUNSETOFFLOAD, (unsigned long)tun_flags) < 0)
		return -errno;
	tap->cur_offloads = tun_flags;
	return 0;
}

int tap_set_queue(struct tap *tap, unsigned int q, bool on)
{
	struct ifreq ifr;

	if (q >= tap->num_queues)
		return -EINVAL;
	if (!tap->multi_queue)
		return on && q == 0 ? 0 : -EOPNOTSUPP;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(tap->fds[q], TUNSETQUEUE, &ifr) < 0) {
		/* Already in that state: the kernel says EINVAL. */
		return errno == EINVAL ? 0 : -errno;
	}
	return 0;
}

void tap_close(struct tap *tap)
{
	for (unsigned int q = 0; q < TAP_MAX_QUEUES; q++) {
		if (tap->fds[q] >= 0 && tap->owned)
			close(tap->fds[q]);
		tap->fds[q] = -1;
	}
	tap->num_queues = 0;
}

unsigned int tap_offloads_from_features(unsigned long long f)
{
	unsigned int t = 0;

	if (!(f & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	t |= TUN_F_CSUM;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_ECN))
		t |= TUN_F_TSO_ECN;
	if (f & (1ULL << VIRTIO_NET_F_GUEST_UFO))
		t |= TUN_F_UFO;
	return t;
}
