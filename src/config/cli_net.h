/*
 * `cove run --net` and `--vsock` in crosvm's grammar (reference/protocols.md
 * section 1.2), as handlers for cli.c's option table. They fill
 * cfg->nics[] and cfg->vsock and open nothing; the devices check the host
 * side (the tap, the fd, the socket path) when they are created.
 *
 *   --net tap-name=NAME[,mac=MAC][,vq-pairs=N][,mrg_rxbuf][,vhost-net[=[device=PATH]]]
 *   --net tap-fd=FD[,mac=MAC][,mrg_rxbuf][,vhost-net[=[device=PATH]]]
 *   --vsock cid=N[,uds-path=PATH]       hybrid host side over Unix sockets
 *   --vsock cid=N[,device=PATH]         kernel vhost-vsock (default /dev/vhost-vsock)
 */
#ifndef COVE_CONFIG_CLI_NET_H
#define COVE_CONFIG_CLI_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "config/argparse.h"

/* ctx->data is the struct vm_config. 0 or -errno with one line in ctx->err. */
int cli_net_opt_net(struct argparse_ctx *ctx, const char *value);
int cli_net_opt_vsock(struct argparse_ctx *ctx, const char *value);

/* "aa:bb:cc:dd:ee:ff" (hex digits, either case) to six bytes: 0 or -EINVAL. */
must_check int cli_net_parse_mac(const char *s, uint8_t mac[6]);

/* The --net and --vsock key lines of `cove run --help`. */
extern const char cli_net_help[];

#endif
