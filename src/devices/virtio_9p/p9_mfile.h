/*
 * The metadata store of the mapped-file security model (QEMU's layout,
 * reference/protocols.md 7.5): the guest's uid, gid, mode and rdev of entry
 * NAME of a directory live in DIR/.virtfs_metadata/NAME as text lines
 * "virtfs.uid=N" (decimal), and those of the shared directory itself in
 * ROOT/.virtfs_metadata_root. Metadata files are 0600, the metadata
 * directories 0700. Every open goes through p9_path_openat (no symlink is
 * ever followed), and reads are bounded.
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_MFILE_H
#define COVE_DEVICES_VIRTIO_9P_P9_MFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "devices/virtio_9p/p9_path.h"

#define P9_MFILE_DIR ".virtfs_metadata"
#define P9_MFILE_ROOT ".virtfs_metadata_root"

struct p9_mfile_meta {
	bool has_uid, has_gid, has_mode, has_rdev;
	uint32_t uid, gid, mode;
	uint64_t rdev;
};

/*
 * Reads the metadata of entry `name` of dirfd (root: the shared directory's
 * own, dirfd and name ignored). Missing metadata is not an error: the
 * has_* flags stay false. Returns 0 or -errno.
 */
must_check int p9_mfile_get(const struct p9_path_root *root, int dirfd, const char *name,
			    bool is_root, struct p9_mfile_meta *m);

/* Merges the fields m has into the stored metadata (created if missing). 0 or -errno. */
must_check int p9_mfile_set(const struct p9_path_root *root, int dirfd, const char *name,
			    bool is_root, const struct p9_mfile_meta *m);

/* Best effort: the entry is gone / moved / linked; its metadata follows. */
void p9_mfile_remove(const struct p9_path_root *root, int dirfd, const char *name);
void p9_mfile_rename(const struct p9_path_root *root, int olddirfd, const char *oldname,
		     int newdirfd, const char *newname);
void p9_mfile_copy(const struct p9_path_root *root, int olddirfd, const char *oldname, int newdirfd,
		   const char *newname);

/* Before rmdir of dirfd/name: empties and removes name/.virtfs_metadata. */
void p9_mfile_clear_dir(const struct p9_path_root *root, int dirfd, const char *name);

#endif
