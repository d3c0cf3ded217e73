/*
 * Fuzz target for 9P2000.L message parsing (src/devices/virtio_9p/p9_wire.c)
 * and the server behind it (p9_server.c), as a hostile guest drives them.
 *
 * Every input is first given whole to p9_wire_parse(), whose verdict must
 * keep its contract (checked here; abort() on a violation): only 0,
 * -EOPNOTSUPP or -EPROTO; an accepted message has exactly the declared
 * size, every string lies inside the input, at most 16 walk names, and a
 * Twrite's count is what follows its header.
 *
 * Then the input is split into T-messages (each one's own size field says
 * where the next starts) and served by a real server over a small
 * read-only share created once under /tmp (read-only, so fuzzing changes
 * nothing on the host), after a fresh Tversion + Tattach of fid 0, with
 * the reply room cut by the input's first byte. Replies must be well
 * formed: a header whose size is the reply length, a tag equal to the
 * request's, a type that is the request's + 1 or Rlerror.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "devices/virtio_9p/p9_server.h"
#include "devices/virtio_9p/p9_wire.h"
#include "fuzz.h"

#define MSIZE 65536

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool inside(const uint8_t *buf, size_t len, const struct p9_str *s)
{
	return s->len == 0 || ((const uint8_t *)s->s >= buf && s->len <= len &&
			       (size_t)((const uint8_t *)s->s - buf) <= len - s->len);
}

/* The string fields of an accepted message. */
static unsigned int strings(const struct p9_msg *m, const struct p9_str **out)
{
	unsigned int n = 0;

	switch (m->type) {
	case P9_TVERSION:
		out[n++] = &m->version.version;
		break;
	case P9_TAUTH:
	case P9_TATTACH:
		out[n++] = &m->attach.uname, out[n++] = &m->attach.aname;
		break;
	case P9_TWALK:
		for (unsigned int i = 0; i < m->walk.nwname; i++)
			out[n++] = &m->walk.wname[i];
		break;
	case P9_TLCREATE:
		out[n++] = &m->lcreate.name;
		break;
	case P9_TSYMLINK:
		out[n++] = &m->symlink.name, out[n++] = &m->symlink.target;
		break;
	case P9_TMKNOD:
		out[n++] = &m->mknod.name;
		break;
	case P9_TRENAME:
		out[n++] = &m->rename.name;
		break;
	case P9_TXATTRWALK:
		out[n++] = &m->xattrwalk.name;
		break;
	case P9_TXATTRCREATE:
		out[n++] = &m->xattrcreate.name;
		break;
	case P9_TLOCK:
	case P9_TGETLOCK:
		out[n++] = &m->lock.client_id;
		break;
	case P9_TLINK:
		out[n++] = &m->link.name;
		break;
	case P9_TMKDIR:
		out[n++] = &m->mkdir.name;
		break;
	case P9_TRENAMEAT:
		out[n++] = &m->renameat.oldname, out[n++] = &m->renameat.newname;
		break;
	case P9_TUNLINKAT:
		out[n++] = &m->unlinkat.name;
		break;
	default:
		break;
	}
	return n;
}

static void check_parse(const uint8_t *data, size_t size)
{
	const struct p9_str *strs[P9_MAXWELEM + 2];
	struct p9_msg m;
	int ret = p9_wire_parse(data, size, &m);

	check(ret == 0 || ret == -EOPNOTSUPP || ret == -EPROTO);
	if (ret)
		return;
	check(m.size == size && size >= P9_HDR_SIZE);
	check(m.type != P9_TWALK || m.walk.nwname <= P9_MAXWELEM);
	if (m.type == P9_TWRITE)
		check(m.write.count == size - P9_WRITE_HDR_SIZE &&
		      m.write.data == data + P9_WRITE_HDR_SIZE);
	for (unsigned int i = 0, n = strings(&m, strs); i < n; i++)
		check(inside(data, size, strs[i]));
}

/* ---- the server ---- */

static struct p9_server *srv;
static struct p9_ctx ctx;
static uint8_t reply[MSIZE];
static char share[] = "/tmp/cove-fuzz9p-XXXXXX";

static void remove_share(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", share);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_9p: could not remove %s\n", share);
}

static void make_share(void)
{
	struct shared_dir_config sd;
	char *dir = share, cmd[256], err[256];

	check(mkdtemp(dir) != NULL);
	atexit(remove_share);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p sub/deeper && echo hello > file && ln -s file link && "
		 "ln -s /etc/passwd abs && mkfifo fifo && touch sub/a sub/b && "
		 "(setfattr -n user.k -v v file 2>/dev/null; true)",
		 dir);
	check(system(cmd) == 0);
	vm_config_shared_dir_defaults(&sd);
	sd.path = dir;
	sd.tag = (char *)"fuzz";
	sd.ro = true;
	sd.msize = MSIZE;
	check(p9_server_create(&sd, &srv, err, sizeof(err)) == 0);
	check(p9_server_ctx_init(&ctx, srv) == 0);
}

static size_t serve(const void *msg, size_t len, size_t room)
{
	struct iovec out = {(void *)(uintptr_t)msg, len}, in = {reply, room};
	struct p9_io io = {&out, 1, len, &in, 1, room};

	return p9_server_handle(srv, &ctx, &io);
}

static void start_session(void)
{
	static const uint8_t version[] = {21, 0, 0,   0,   P9_TVERSION, 0xff, 0xff, 0,	 0,   1,  0,
					  8,  0, '9', 'P', '2',		'0',  '0',  '0', '.', 'L'};
	static const uint8_t attach[] = {23,   0,    0,	   0, P9_TATTACH, 1, 0, 0, 0, 0, 0, 0xff,
					 0xff, 0xff, 0xff, 0, 0,	  0, 0, 0, 0, 0, 0};

	p9_server_reset(srv);
	check(serve(version, sizeof(version), MSIZE) > 0 && reply[4] == P9_TVERSION + 1);
	check(serve(attach, sizeof(attach), MSIZE) > 0 && reply[4] == P9_TATTACH + 1);
}

static void check_reply(const uint8_t *req, size_t rlen)
{
	uint32_t size;
	uint8_t type;
	uint16_t tag;

	if (rlen == 0)
		return;
	check(p9_wire_header(reply, rlen, &size, &type, &tag) == 0);
	check(size == rlen && tag == (uint16_t)(req[5] | req[6] << 8));
	check(type == P9_RLERROR || type == (uint8_t)(req[4] + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t room;

	log_set_level(LOG_LEVEL_OFF);
	check_parse(data, size);
	if (size < 1)
		return 0;
	if (!srv)
		make_share();
	start_session();
	room = data[0] < 8 ? (size_t)data[0] * 2 : MSIZE; /* mostly plenty, sometimes tiny */
	for (size_t pos = 1; pos + P9_HDR_SIZE <= size;) {
		const uint8_t *msg = data + pos;
		uint32_t len = msg[0] | msg[1] << 8 | msg[2] << 16 | (uint32_t)msg[3] << 24;

		if (len < P9_HDR_SIZE || len > size - pos)
			len = (uint32_t)(size - pos); /* the rest, as one (bad) message */
		check_reply(msg, serve(msg, len, room));
		pos += len;
	}
	return 0;
}
