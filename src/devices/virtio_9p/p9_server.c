/*
 * The 9P2000.L server: lifecycle, and one request from bytes to reply
 * (copy in, parse with p9_wire, dispatch to the operation, Rlerror on
 * failure, copy out). See p9_server.h.
 */
#include "devices/virtio_9p/p9_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "base/log.h"
#include "devices/virtio_9p/p9_op.h"

#define DIRENTS_SIZE (64u * 1024)
#define FDS_RESERVED 512 /* descriptors left to the rest of Cove */

/* ---- lifecycle ---- */

/* Raises the descriptor limit to its maximum; returns how many fids it allows. */
static unsigned int fid_budget(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	/* A fid may hold two descriptors (itself and its directory). */
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 2ull * P9_MAX_FIDS + FDS_RESERVED)
		return P9_MAX_FIDS;
	return rl.rlim_cur > FDS_RESERVED + 128 ? (unsigned int)(rl.rlim_cur - FDS_RESERVED) / 2
						: 64;
}

static int copy_config(struct p9_server *srv, const struct shared_dir_config *cfg)
{
	srv->cfg = *cfg;
	srv->cfg.path = strdup(cfg->path);
	srv->cfg.tag = strdup(cfg->tag ? cfg->tag : "");
	return srv->cfg.path && srv->cfg.tag ? 0 : -ENOMEM;
}

int p9_server_create(const struct shared_dir_config *cfg, struct p9_server **out, char *err,
		     size_t errlen)
{
	struct p9_server *srv = calloc(1, sizeof(*srv));
	int ret;

	if (!srv || copy_config(srv, cfg) ||
	    p9_fid_table_init(&srv->fids, fid_budget(), P9_XATTR_BYTES_MAX) ||
	    pthread_mutex_init(&srv->rename_lock, NULL)) {
		snprintf(err, errlen, "out of memory");
		if (srv) {
			free(srv->cfg.path);
			free(srv->cfg.tag);
		}
		free(srv);
		return -ENOMEM;
	}
	ret = p9_path_root_open(&srv->root, cfg->path, err, errlen);
	if (ret) {
		p9_server_destroy(srv);
		return ret;
	}
	srv->umask = umask(0); /* read it: there is no other way */
	umask(srv->umask);
	*out = srv;
	return 0;
}

void p9_server_destroy(struct p9_server *srv)
{
	if (!srv)
		return;
	p9_fid_table_destroy(&srv->fids);
	if (srv->root.fd >= 0 || srv->root.proc_fd >= 0)
		p9_path_root_close(&srv->root);
	pthread_mutex_destroy(&srv->rename_lock);
	free(srv->cfg.path);
	free(srv->cfg.tag);
	free(srv);
}

void p9_server_reset(struct p9_server *srv)
{
	p9_fid_table_clear(&srv->fids);
	__atomic_store_n(&srv->msize, 0, __ATOMIC_RELEASE);
}

int p9_server_ctx_init(struct p9_ctx *ctx, const struct p9_server *srv)
{
	/* Large buffers are mapped lazily: untouched pages cost nothing. */
	ctx->msg = malloc(P9_SMALL_MSG_MAX);
	ctx->reply = malloc(srv->cfg.msize);
	ctx->dirents = malloc(DIRENTS_SIZE);
	ctx->reply_cap = srv->cfg.msize;
	if (!ctx->msg || !ctx->reply || !ctx->dirents) {
		p9_server_ctx_destroy(ctx);
		return -ENOMEM;
	}
	return 0;
}

void p9_server_ctx_destroy(struct p9_ctx *ctx)
{
	free(ctx->msg);
	free(ctx->reply);
	free(ctx->dirents);
	ctx->msg = ctx->reply = ctx->dirents = NULL;
}

/* ---- one request ---- */

static int op_flush(struct p9_op *op)
{
	(void)op; /* nothing in flight here: the transport orders real flushes */
	return 0;
}

/* Tauth and 9P2000's Topen/Tcreate/Tstat/Twstat have no entry: EOPNOTSUPP. */
static const p9_op_fn ops[256] = {
    [P9_TVERSION] = p9_session_version,
    [P9_TATTACH] = p9_session_attach,
    [P9_TWALK] = p9_session_walk,
    [P9_TCLUNK] = p9_session_clunk,
    [P9_TFLUSH] = op_flush,
    [P9_TLOPEN] = p9_file_lopen,
    [P9_TLCREATE] = p9_file_lcreate,
    [P9_TREAD] = p9_file_read,
    [P9_TWRITE] = p9_file_write,
    [P9_TFSYNC] = p9_file_fsync,
    [P9_TLOCK] = p9_file_lock,
    [P9_TGETLOCK] = p9_file_getlock,
    [P9_TREADDIR] = p9_dir_readdir,
    [P9_TMKDIR] = p9_dir_mkdir,
    [P9_TMKNOD] = p9_dir_mknod,
    [P9_TSYMLINK] = p9_dir_symlink,
    [P9_TREADLINK] = p9_dir_readlink,
    [P9_TLINK] = p9_dir_link,
    [P9_TRENAME] = p9_dir_rename,
    [P9_TRENAMEAT] = p9_dir_renameat,
    [P9_TUNLINKAT] = p9_dir_unlinkat,
    [P9_TREMOVE] = p9_dir_remove,
    [P9_TGETATTR] = p9_attr_getattr,
    [P9_TSETATTR] = p9_attr_setattr,
    [P9_TSTATFS] = p9_attr_statfs,
    [P9_TXATTRWALK] = p9_xattr_walk,
    [P9_TXATTRCREATE] = p9_xattr_create,
};

/* The msize in force: the negotiated one, or the configured limit before Tversion. */
static uint32_t msize_now(const struct p9_server *srv)
{
	uint32_t m = __atomic_load_n(&srv->msize, __ATOMIC_ACQUIRE);

	return m ? m : srv->cfg.msize;
}

/*
 * Guest-controlled: the T-message. Copies it in (a Twrite only up to its
 * header: the data stays in the guest's buffers) and parses it.
 */
static int take_request(struct p9_server *srv, struct p9_ctx *ctx, const struct p9_io *io,
			uint32_t size, uint8_t type, struct p9_msg *m)
{
	size_t len = type == P9_TWRITE ? P9_WRITE_HDR_SIZE : size;

	if (size > io->out_len || size > msize_now(srv))
		return -EMSGSIZE;
	if (len > size || len > P9_SMALL_MSG_MAX)
		return type == P9_TWRITE ? -EPROTO : -EMSGSIZE;
	if (p9_op_read_in(io, 0, ctx->msg, len) != len)
		return -EPROTO;
	return p9_wire_parse(ctx->msg, len, m);
}

/* Runs the operation; returns the reply length or -errno (then Rlerror). */
static int run(struct p9_op *op, uint8_t type, uint16_t tag)
{
	int ret;

	p9_wire_begin(op->r, (uint8_t)(type + 1), tag);
	ret = ops[type] ? ops[type](op) : -EOPNOTSUPP;
	if (ret)
		return ret;
	ret = p9_wire_finish_data(op->r, op->data_len);
	return ret < 0 ? -EMSGSIZE : ret;
}

static const char *errno_name(int e)
{
	return e == EPROTO ? "malformed message" : e == EMSGSIZE ? "message too large" : NULL;
}

size_t p9_server_handle(struct p9_server *srv, struct p9_ctx *ctx, const struct p9_io *io)
{
	uint8_t hdr[P9_HDR_SIZE];
	struct p9_wire_buf r;
	struct p9_msg m;
	uint32_t size;
	uint8_t type;
	uint16_t tag;
	size_t cap = MIN(MIN(io->in_len, (size_t)msize_now(srv)), ctx->reply_cap);
	struct p9_op op = {.srv = srv, .ctx = ctx, .m = &m, .io = io, .r = &r, .cap = cap};
	int ret;

	if (p9_wire_header(hdr, p9_op_read_in(io, 0, hdr, sizeof(hdr)), &size, &type, &tag) ||
	    cap < P9_HDR_SIZE + 4)
		return 0; /* no tag to answer, or no room for even an Rlerror */
	p9_wire_buf_init(&r, ctx->reply, cap);
	ret = take_request(srv, ctx, io, size, type, &m);
	if (ret && errno_name(-ret))
		log_guest_once("9p: %s (type %u)", errno_name(-ret), type);
	if (!ret)
		ret = run(&op, type, tag);
	if (ret < 0) {
		p9_wire_lerror(&r, tag, (uint32_t)-ret);
		ret = p9_wire_finish(&r);
	}
	p9_op_write_out(io, 0, r.data, r.len);
	return (size_t)ret;
}

bool p9_server_peek_flush(const struct p9_io *io, uint16_t *tag, uint16_t *oldtag)
{
	uint8_t buf[P9_HDR_SIZE + 2];
	struct p9_msg m;

	if (p9_op_read_in(io, 0, buf, sizeof(buf)) != sizeof(buf) ||
	    p9_wire_parse(buf, sizeof(buf), &m) || m.type != P9_TFLUSH)
		return false;
	*tag = m.tag;
	*oldtag = m.flush.oldtag;
	return true;
}

size_t p9_server_rflush(const struct p9_io *io, uint16_t tag)
{
	uint8_t buf[P9_HDR_SIZE];
	struct p9_wire_buf b;

	if (io->in_len < sizeof(buf))
		return 0;
	p9_wire_buf_init(&b, buf, sizeof(buf));
	p9_wire_begin(&b, P9_TFLUSH + 1, tag);
	if (p9_wire_finish(&b) < 0)
		return 0;
	return p9_op_write_out(io, 0, buf, sizeof(buf));
}
