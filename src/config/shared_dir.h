/*
 * The value of --shared-dir, in crosvm's colon syntax (reference/protocols.md
 * 1.2): PATH:TAG[:type=p9][:KEY=VALUE...]. PATH must be an existing
 * directory, TAG the mount tag the guest names (1 to 255 printable
 * characters). Keys:
 *
 *   type=p9|9p                 virtio-9p (fs, virtio-fs, is not supported)
 *   security_model=MODEL       passthrough, mapped-xattr (alias mapped),
 *                              mapped-file or none, as QEMU's fsdev
 *                              (alias security-model)
 *   ro[=BOOL]                  read-only share
 *   fmode=OCTAL, dmode=OCTAL   host modes of new files and directories in
 *                              the mapped models (default 0600, 0700)
 *   uidmap=MAP, gidmap=MAP     "inner outer count[,inner outer count...]":
 *                              guest id inner+i is host id outer+i
 *   msize=N                    the largest msize the server agrees to
 *                              (4096 to 8388608, default 1048576)
 *
 * crosvm's virtio-fs keys (cache, timeout, writeback, dax, ...) and uid=/
 * gid= are refused with a message saying so.
 */
#ifndef COVE_CONFIG_SHARED_DIR_H
#define COVE_CONFIG_SHARED_DIR_H

#include "config/argparse.h"
#include "config/vm_config.h"

#define SHARED_DIR_USAGE "PATH:TAG[:type=p9][:security_model=MODEL][:ro][:KEY=VALUE...]"

/*
 * Parses one --shared-dir value into sd (defaults first). On success sd
 * owns a path and a tag; on failure nothing is allocated and ctx->err
 * holds one line. Returns 0, -EINVAL or -ENOMEM.
 */
must_check int shared_dir_parse(struct argparse_ctx *ctx, const char *value,
				struct shared_dir_config *sd);

/*
 * libvirt's <filesystem accessmode='...'> as a security model:
 * passthrough -> passthrough, mapped -> mapped-xattr, squash -> none (for
 * the domain XML mapping). Returns 0, or -EINVAL for another name.
 */
must_check int shared_dir_model_from_accessmode(const char *accessmode, enum shared_dir_model *out);

#endif
