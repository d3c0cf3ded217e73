/*
 * The security models (QEMU's fsdev security_model=; reference/protocols.md
 * 7.5): how the guest's owners, modes and special files meet the host.
 *
 * passthrough  files get the guest's owner (through uidmap/gidmap) and
 *              mode; chown failures are errors. Device nodes are refused
 *              (EPERM): a guest must not mint host device nodes.
 * none         the same, but failing to set the owner of a new file is
 *              ignored (an unprivileged Cove).
 * mapped-xattr host objects are Cove's, created with fmode/dmode; the
 *              guest's uid, gid, mode (with the file type) and rdev live in
 *              user.virtfs.{uid,gid,mode,rdev} (QEMU's layout: LE 4-byte
 *              ids and mode, 8-byte rdev) and override the host values on
 *              stat. Symlinks are regular files holding the target; device
 *              nodes, FIFOs and sockets are empty regular files. The
 *              guest's chmod/chown never reach host permissions. The
 *              user.virtfs.* names are invisible and untouchable.
 * mapped-file  the same metadata as text in .virtfs_metadata/NAME beside
 *              each entry (.virtfs_metadata_root for the root); those names
 *              are invisible and cannot be created.
 *
 * Guest xattrs: passthrough and none pass user.*, trusted.*, security.*
 * and system.posix_acl_* through; the mapped models allow user.* only.
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_SEC_H
#define COVE_DEVICES_VIRTIO_9P_P9_SEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "base/compiler.h"
#include "devices/virtio_9p/p9_server.h"

/* An object as the models see it: its descriptor and where its entry is. */
struct p9_node {
	int fd;		  /* O_PATH or open descriptor of the object */
	int dirfd;	  /* its directory, -1 if unknown (mapped-file then falls back) */
	const char *name; /* its entry in dirfd, NULL if unknown */
	bool root;	  /* the shared directory itself */
};

/* Guest credentials of a new object: mode holds the file type. */
struct p9_cred {
	uint32_t uid, gid; /* guest ids; P9_NONUNAME = unchanged */
	uint32_t mode;
	uint64_t rdev;
};

/* The node view of a fid (fid lock held while the node is used). */
void p9_sec_node(const struct p9_fid *fid, struct p9_node *n);

/* fstat of the node, then the model's view: guest owner, mode, rdev. 0 or -errno. */
must_check int p9_sec_stat(struct p9_server *srv, const struct p9_node *n, struct stat *st);
/* The same from the node's host attributes `host` (already read). */
must_check int p9_sec_view(struct p9_server *srv, const struct p9_node *n,
			   const struct stat *host, struct stat *st);

/* The host mode to create an object of guest mode `mode` with. */
mode_t p9_sec_host_mode(const struct p9_server *srv, uint32_t mode);

/*
 * After creating node n (fd refers to the new object) for credentials c:
 * owner and mode (passthrough, none) or the metadata (mapped). 0 or
 * -errno; on error the caller removes the object.
 */
must_check int p9_sec_created(struct p9_server *srv, const struct p9_node *n,
			      const struct p9_cred *c);

/* Guest chmod (permission bits only) and chown (P9_NONUNAME = unchanged). */
must_check int p9_sec_chmod(struct p9_server *srv, const struct p9_node *n, uint32_t mode);
must_check int p9_sec_chown(struct p9_server *srv, const struct p9_node *n, uint32_t uid,
			    uint32_t gid);

/* Creates a symlink (or its mapped stand-in) `name` in dirfd; the caller applies creds. */
must_check int p9_sec_symlink(struct p9_server *srv, int dirfd, const char *name,
			      const char *target);
/* Creates a special file or empty regular file; EPERM for devices in passthrough/none. */
must_check int p9_sec_mknod(struct p9_server *srv, int dirfd, const char *name, uint32_t mode,
			    uint64_t rdev);
/* Reads the link target into buf (NUL-terminated); returns its length or -errno. */
int p9_sec_readlink(struct p9_server *srv, const struct p9_node *n, char *buf, size_t cap);

/* True for names the model keeps for itself (mapped-file's metadata). */
bool p9_sec_reserved(const struct p9_server *srv, const char *name);

/* The d_type readdir reports for a host d_type. */
uint8_t p9_sec_dtype(const struct p9_server *srv, uint8_t host_dtype);

/*
 * A guest xattr name: 0 if allowed, -ENODATA (get of a hidden name),
 * -EACCES (set/remove of a hidden name) or -EOPNOTSUPP (namespace refused).
 */
int p9_sec_xattr_name(const struct p9_server *srv, const char *name, bool write);
/* Drops hidden and refused names from a listxattr list; returns its new length. */
size_t p9_sec_xattr_list(const struct p9_server *srv, char *list, size_t len);

/* Bookkeeping around namespace changes (mapped-file moves its metadata). */
void p9_sec_removing_dir(struct p9_server *srv, int dirfd, const char *name);
void p9_sec_removed(struct p9_server *srv, int dirfd, const char *name);
void p9_sec_renamed(struct p9_server *srv, int olddirfd, const char *oldname, int newdirfd,
		    const char *newname);
void p9_sec_linked(struct p9_server *srv, const struct p9_node *old, int newdirfd,
		   const char *newname);

/* Guest id <-> host id through the map (identity when empty); -1 if unmapped. */
int64_t p9_sec_to_host(const struct shared_dir_idmap *map, uint32_t id);
uint32_t p9_sec_to_guest(const struct shared_dir_idmap *map, uint32_t id);

#endif
