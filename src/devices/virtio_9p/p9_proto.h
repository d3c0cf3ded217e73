/*
 * 9P2000.L protocol constants (reference/protocols.md section 7; the
 * Linux client's include/net/9p/9p.h is kernel-internal, so the numbers
 * are restated here). All integers on the wire are little-endian.
 */
#ifndef COVE_DEVICES_VIRTIO_9P_P9_PROTO_H
#define COVE_DEVICES_VIRTIO_9P_P9_PROTO_H

#define P9_VERSION_L "9P2000.L"
#define P9_VERSION_UNKNOWN "unknown"

#define P9_HDR_SIZE 7	     /* size[4] type[1] tag[2] */
#define P9_IOHDR_SIZE 24     /* Rread/Twrite overhead the client budgets for */
#define P9_READ_HDR_SIZE 11  /* Rread/Rreaddir: header + count[4] */
#define P9_WRITE_HDR_SIZE 23 /* Twrite: header + fid[4] offset[8] count[4] */
#define P9_QID_SIZE 13
#define P9_MAXWELEM 16
#define P9_MIN_MSIZE 4096

#define P9_NOTAG 0xffff
#define P9_NOFID 0xffffffffu
#define P9_NONUNAME 0xffffffffu

/* Message types: T is even, R = T + 1. */
enum p9_type {
	P9_TLERROR = 6,
	P9_RLERROR = 7,
	P9_TSTATFS = 8,
	P9_TLOPEN = 12,
	P9_TLCREATE = 14,
	P9_TSYMLINK = 16,
	P9_TMKNOD = 18,
	P9_TRENAME = 20,
	P9_TREADLINK = 22,
	P9_TGETATTR = 24,
	P9_TSETATTR = 26,
	P9_TXATTRWALK = 30,
	P9_TXATTRCREATE = 32,
	P9_TREADDIR = 40,
	P9_TFSYNC = 50,
	P9_TLOCK = 52,
	P9_TGETLOCK = 54,
	P9_TLINK = 70,
	P9_TMKDIR = 72,
	P9_TRENAMEAT = 74,
	P9_TUNLINKAT = 76,
	P9_TVERSION = 100,
	P9_TAUTH = 102,
	P9_TATTACH = 104,
	P9_TFLUSH = 108,
	P9_TWALK = 110,
	P9_TREAD = 116,
	P9_TWRITE = 118,
	P9_TCLUNK = 120,
	P9_TREMOVE = 122,
};

/* qid.type bits */
#define P9_QTDIR 0x80
#define P9_QTAPPEND 0x40
#define P9_QTSYMLINK 0x02
#define P9_QTFILE 0x00

/* Tgetattr request_mask / Rgetattr valid */
#define P9_GETATTR_BASIC 0x7ffull

/* Tsetattr valid */
#define P9_SETATTR_MODE 0x1u
#define P9_SETATTR_UID 0x2u
#define P9_SETATTR_GID 0x4u
#define P9_SETATTR_SIZE 0x8u
#define P9_SETATTR_ATIME 0x10u
#define P9_SETATTR_MTIME 0x20u
#define P9_SETATTR_CTIME 0x40u
#define P9_SETATTR_ATIME_SET 0x80u
#define P9_SETATTR_MTIME_SET 0x100u

/* Tlopen/Tlcreate flags: the Linux (x86 and generic) O_* values. */
#define P9_L_ACCMODE 03u
#define P9_L_CREATE 0100u
#define P9_L_EXCL 0200u
#define P9_L_TRUNC 01000u
#define P9_L_APPEND 02000u
#define P9_L_DSYNC 010000u
#define P9_L_SYNC 04000000u

/* Tlock / Tgetlock */
#define P9_LOCK_TYPE_RDLCK 0
#define P9_LOCK_TYPE_WRLCK 1
#define P9_LOCK_TYPE_UNLCK 2
#define P9_LOCK_SUCCESS 0
#define P9_LOCK_BLOCKED 1
#define P9_LOCK_ERROR 2

/* Tunlinkat flags */
#define P9_AT_REMOVEDIR 0x200u

#endif
