/*
 * --net and --vsock (crosvm's NetParameters and VsockConfig; see cli_net.h).
 */
#include "config/cli_net.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "config/vm_config.h"

#define NET_USAGE "tap-name=NAME or tap-fd=FD, then [,mac=MAC][,vq-pairs=N][,mrg_rxbuf][,vhost-net]"
#define VSOCK_USAGE "cid=N[,uds-path=PATH] or cid=N[,device=PATH]"
/* A guest-initiated connection goes to PATH_<port>: room for "_4294967295". */
#define UDS_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - 11)

static struct vm_config *cfg_of(struct argparse_ctx *ctx)
{
	return ctx->data;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cli_net_parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* ---- --net ---- */

enum { NK_TAP_NAME, NK_TAP_FD, NK_MAC, NK_VQ_PAIRS, NK_MRG_RXBUF, NK_VHOST_NET };

static int vhost_key(struct argparse_ctx *ctx, unsigned int id, const char *key, const char *value,
		     void *out)
{
	(void)id; /* device is the only key */
	if (!value)
		return argparse_fail(
		    ctx, "key '%s' needs a value: expected vhost-net=[device=PATH]", key);
	return argparse_string(ctx, out, value, "vhost-net=[device=PATH]");
}

/* vhost-net, vhost-net=true|false, or vhost-net=[device=PATH]. */
static int net_vhost(struct argparse_ctx *ctx, const char *value, struct net_config *nc)
{
	static const char *const keys[] = {"device", NULL};
	static const struct keyval_schema schema = {keys, NULL, false};
	size_t n = value ? strlen(value) : 0;
	char *inner;
	int ret;

	if (!value || value[0] != '[')
		return argparse_bool(ctx, "vhost-net", value, &nc->vhost);
	if (n < 2 || value[n - 1] != ']')
		return argparse_fail(ctx,
				     "invalid value '%s' for vhost-net: expected "
				     "vhost-net or vhost-net=[device=PATH]",
				     value);
	inner = strndup(value + 1, n - 2);
	if (!inner)
		return argparse_no_memory(ctx);
	ret = argparse_list(ctx, inner, &schema, vhost_key, &nc->vhost_device);
	free(inner);
	nc->vhost = ret == 0;
	return ret;
}

static int net_tap_name(struct argparse_ctx *ctx, const char *value, struct net_config *nc)
{
	if (value && (strlen(value) >= IF_NAMESIZE || strpbrk(value, "/ \t\n:"))) {
		return argparse_fail(ctx,
				     "invalid value '%s' for tap-name: expected an interface name "
				     "of 1 to %d characters without '/', ':' or spaces",
				     value, IF_NAMESIZE - 1);
	}
	return argparse_string(ctx, &nc->tap_name, value, "tap-name=NAME");
}

static int net_key(struct argparse_ctx *ctx, unsigned int id, const char *key, const char *value,
		   void *out)
{
	struct net_config *nc = out;
	uint64_t n;

	switch (id) {
	case NK_TAP_NAME:
		return net_tap_name(ctx, value, nc);
	case NK_TAP_FD:
		if (argparse_uint(ctx, key, value, 0, INT_MAX, &n))
			return -EINVAL;
		nc->tap_fd = (int)n;
		return 0;
	case NK_MAC:
		if (!value || cli_net_parse_mac(value, nc->mac))
			return argparse_fail(ctx,
					     "invalid value '%s' for mac: expected "
					     "six hex bytes like 52:54:00:12:34:56",
					     value ? value : "");
		if (nc->mac[0] & 1)
			return argparse_fail(ctx,
					     "mac=%s is a multicast address: a NIC needs "
					     "a unicast one (first byte even)",
					     value);
		nc->has_mac = true;
		return 0;
	case NK_VQ_PAIRS:
		if (argparse_uint(ctx, key, value, 1, NET_MAX_VQ_PAIRS, &n))
			return -EINVAL;
		nc->vq_pairs = (unsigned int)n;
		return 0;
	case NK_MRG_RXBUF:
		return argparse_bool(ctx, key, value, &nc->mrg_rxbuf);
	default: /* NK_VHOST_NET */
		return net_vhost(ctx, value, nc);
	}
}

static int check_net(struct argparse_ctx *ctx, const struct net_config *nc)
{
	struct vm_config *cfg = cfg_of(ctx);

	if (!nc->tap_name && nc->tap_fd < 0)
		return argparse_fail(ctx, "missing tap: expected " NET_USAGE);
	if (nc->tap_name && nc->tap_fd >= 0)
		return argparse_fail(ctx, "tap-name and tap-fd are exclusive: give one");
	if (nc->tap_fd >= 0 && nc->vq_pairs > 1)
		return argparse_fail(ctx,
				     "vq-pairs=%u needs tap-name=NAME (one tap-fd is one "
				     "queue)",
				     nc->vq_pairs);
	if (cfg->num_nics == VM_CONFIG_MAX_NICS)
		return argparse_fail(ctx, "at most %d NICs", VM_CONFIG_MAX_NICS);
	for (unsigned int i = 0; i < cfg->num_nics; i++) {
		const struct net_config *o = &cfg->nics[i];

		if (nc->tap_name && o->tap_name && strcmp(nc->tap_name, o->tap_name) == 0)
			return argparse_fail(ctx, "tap %s is given twice", nc->tap_name);
		if (nc->tap_fd >= 0 && nc->tap_fd == o->tap_fd)
			return argparse_fail(ctx, "tap-fd=%d is given twice", nc->tap_fd);
	}
	return 0;
}

int cli_net_opt_net(struct argparse_ctx *ctx, const char *value)
{
	static const char *const keys[] = {"tap-name",	"tap-fd",    "mac", "vq-pairs",
					   "mrg_rxbuf", "vhost-net", NULL};
	static const char *const later[] = {"host-ip", "netmask", "packed-queue", "pci-address",
					    NULL};
	static const struct keyval_schema schema = {keys, later, false};
	struct net_config nc = {.tap_fd = -1, .vq_pairs = 1};
	struct vm_config *cfg = cfg_of(ctx);
	int ret = argparse_list(ctx, value, &schema, net_key, &nc);

	if (!ret)
		ret = check_net(ctx, &nc);
	if (ret) {
		free(nc.tap_name);
		free(nc.vhost_device);
		return ret;
	}
	cfg->nics[cfg->num_nics++] = nc;
	return 0;
}

/* ---- --vsock ---- */

enum { VK_CID, VK_UDS_PATH, VK_DEVICE };

static int vsock_key(struct argparse_ctx *ctx, unsigned int id, const char *key, const char *value,
		     void *out)
{
	struct vsock_config *vc = out;
	uint64_t n;

	switch (id) {
	case VK_CID:
		if (argparse_uint(ctx, key, value, 0, UINT64_MAX, &n))
			return -EINVAL;
		if (n < VSOCK_MIN_CID)
			return argparse_fail(ctx,
					     "cid=%llu is reserved (0 hypervisor, 1 local, "
					     "2 host): expected %d or above",
					     (unsigned long long)n, VSOCK_MIN_CID);
		if (n > VSOCK_MAX_CID)
			return argparse_fail(ctx, "cid=%llu is out of range: expected %d to %llu",
					     (unsigned long long)n, VSOCK_MIN_CID, VSOCK_MAX_CID);
		vc->cid = n;
		return 0;
	case VK_UDS_PATH:
		if (value && strlen(value) > UDS_PATH_MAX)
			return argparse_fail(ctx,
					     "uds-path is too long: at most %zu bytes (a Unix "
					     "socket path, plus _PORT for guest connections)",
					     UDS_PATH_MAX);
		return argparse_string(ctx, &vc->uds_path, value, "uds-path=PATH");
	default: /* VK_DEVICE */
		return argparse_string(ctx, &vc->vhost_device, value, "device=PATH");
	}
}

int cli_net_opt_vsock(struct argparse_ctx *ctx, const char *value)
{
	static const char *const keys[] = {"cid", "uds-path", "device", NULL};
	static const char *const later[] = {"max-queue-sizes", "pci-address", NULL};
	static const struct keyval_schema schema = {keys, later, false};
	struct vsock_config *vc = &cfg_of(ctx)->vsock;
	int ret = argparse_list(ctx, value, &schema, vsock_key, vc);

	if (!ret && vc->cid == 0)
		ret = argparse_fail(ctx, "missing cid: expected " VSOCK_USAGE);
	if (!ret && vc->uds_path && vc->vhost_device)
		ret = argparse_fail(ctx, "uds-path and device are exclusive: the host side is "
					 "either Unix sockets or vhost-vsock");
	vc->enabled = ret == 0;
	return ret;
}

const char cli_net_help[] =
    "\n"
    "--net keys (one NIC per --net, repeatable):\n"
    "  tap-name=NAME      an existing tap (ip tuntap add dev NAME mode tap), created\n"
    "                     when Cove may (CAP_NET_ADMIN) and it is missing\n"
    "  tap-fd=FD          an open tap file descriptor inherited from the caller\n"
    "  mac=MAC            the guest's MAC address (default: a random local one)\n"
    "  vq-pairs=N         queue pairs, 1 to 16; more than 1 needs a multi_queue tap\n"
    "  mrg_rxbuf          offer mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF)\n"
    "  vhost-net[=[device=PATH]]  the kernel's vhost-net moves the packets\n"
    "                     (default /dev/vhost-net)\n"
    "\n"
    "--vsock keys:\n"
    "  cid=N              the guest's context ID, 3 or above\n"
    "  uds-path=PATH      host side over Unix sockets: connect to PATH and send\n"
    "                     \"CONNECT <port>\\n\"; guest connections to port P reach PATH_P\n"
    "  device=PATH        host side through vhost-vsock (default /dev/vhost-vsock)\n";
