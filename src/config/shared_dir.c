/*
 * --shared-dir PATH:TAG[:KEY=VALUE...]; see shared_dir.h. crosvm splits the
 * value at every ':' (so PATH and values cannot contain one), takes PATH
 * and TAG first, then the keys in any order; so does this.
 */
#include "config/shared_dir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { K_TYPE, K_MODEL, K_RO, K_FMODE, K_DMODE, K_UIDMAP, K_GIDMAP, K_MSIZE, K_COUNT };

static const struct argparse_name keys[] = {{"type", K_TYPE},
					    {"security_model", K_MODEL},
					    {"security-model", K_MODEL},
					    {"ro", K_RO},
					    {"fmode", K_FMODE},
					    {"dmode", K_DMODE},
					    {"uidmap", K_UIDMAP},
					    {"gidmap", K_GIDMAP},
					    {"msize", K_MSIZE},
					    {0}};
static const char *const key_names[K_COUNT] = {"type",	"security_model", "ro",	    "fmode",
					       "dmode", "uidmap",	  "gidmap", "msize"};
#define KEYS "type, security_model, ro, fmode, dmode, uidmap, gidmap, msize"

/* crosvm's keys that Cove's virtio-9p does not have. */
static const char *const unsupported[] = {"uid",
					  "gid",
					  "cache",
					  "timeout",
					  "writeback",
					  "dax",
					  "posix_acl",
					  "negative_timeout",
					  "ascii_casefold",
					  "security_ctx",
					  "max_dynamic_perm",
					  "max_dynamic_xattr",
					  "privileged_quota_uids",
					  "dax_file_threshold",
					  "rewrite-security-xattrs",
					  NULL};

static const struct argparse_name types[] = {{"p9", 0}, {"9p", 0}, {0}};
static const char *const types_later[] = {"fs", NULL};
static const struct argparse_name models[] = {{"passthrough", SHARED_DIR_PASSTHROUGH},
					      {"mapped-xattr", SHARED_DIR_MAPPED_XATTR},
					      {"mapped", SHARED_DIR_MAPPED_XATTR},
					      {"mapped-file", SHARED_DIR_MAPPED_FILE},
					      {"none", SHARED_DIR_NONE},
					      {0}};

static int check_path(struct argparse_ctx *ctx, const char *path)
{
	struct stat st;

	if (!path[0])
		return argparse_fail(ctx, "missing PATH: expected " SHARED_DIR_USAGE);
	if (stat(path, &st) < 0)
		return argparse_fail(ctx, "cannot share '%s': %s: expected an existing directory",
				     path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return argparse_fail(ctx, "'%s' is not a directory: expected an existing directory",
				     path);
	return 0;
}

static int check_tag(struct argparse_ctx *ctx, const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0)
		return argparse_fail(ctx, "missing TAG: expected " SHARED_DIR_USAGE);
	for (size_t i = 0; i < n; i++) {
		if (tag[i] <= 0x20 || tag[i] > 0x7e)
			n = 0;
	}
	if (n == 0 || n > SHARED_DIR_TAG_MAX)
		return argparse_fail(ctx,
				     "invalid tag '%s': expected 1 to %d printable characters "
				     "without spaces",
				     tag, SHARED_DIR_TAG_MAX);
	return 0;
}

static int parse_mode(struct argparse_ctx *ctx, const char *key, const char *value, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!value || !value[0] || strspn(value, "01234567") != strlen(value) ||
	    (v = strtoul(value, &end, 8)) > 07777)
		return argparse_fail(ctx,
				     "invalid value '%s' for %s: expected an octal mode "
				     "from 0 to 7777",
				     value ? value : "", key);
	*out = (uint32_t)v;
	return 0;
}

/* One "inner outer count" range. */
static bool parse_range(char *s, uint32_t out[3])
{
	char *save, *tok = strtok_r(s, " ", &save);

	for (int i = 0; i < 3; i++, tok = strtok_r(NULL, " ", &save)) {
		uint64_t v;

		if (!tok || keyval_parse_u64(tok, &v) || v > UINT32_MAX)
			return false;
		out[i] = (uint32_t)v;
	}
	return !tok && out[2] > 0 && (uint64_t)out[0] + out[2] <= 1ull << 32 &&
	       (uint64_t)out[1] + out[2] <= 1ull << 32;
}

static int parse_idmap(struct argparse_ctx *ctx, const char *key, const char *value,
		       struct shared_dir_idmap *map)
{
	char *copy = value ? strdup(value) : NULL, *save, *item;
	uint32_t r[3];
	int ret = 0;

	if (value && !copy)
		return argparse_no_memory(ctx);
	map->n = 0;
	for (item = copy ? strtok_r(copy, ",", &save) : NULL; item && !ret;
	     item = strtok_r(NULL, ",", &save)) {
		if (map->n == SHARED_DIR_IDMAP_MAX || !parse_range(item, r))
			ret = -EINVAL;
		else
			map->r[map->n].inner = r[0], map->r[map->n].outer = r[1],
			map->r[map->n++].count = r[2];
	}
	free(copy);
	if (ret || map->n == 0)
		return argparse_fail(ctx,
				     "invalid value '%s' for %s: expected \"inner outer count\" "
				     "ranges separated by commas (at most %d)",
				     value ? value : "", key, SHARED_DIR_IDMAP_MAX);
	return 0;
}

static int set_key(struct argparse_ctx *ctx, int id, const char *key, const char *value,
		   struct shared_dir_config *sd)
{
	uint64_t n;
	int v;

	switch (id) {
	case K_TYPE:
		return argparse_name(ctx, key, value, types, types_later, "p9", &v);
	case K_MODEL:
		if (argparse_name(ctx, key, value, models, NULL,
				  "passthrough, mapped-xattr, mapped-file or none", &v))
			return -EINVAL;
		sd->model = (enum shared_dir_model)v;
		return 0;
	case K_RO:
		return argparse_bool(ctx, key, value, &sd->ro);
	case K_FMODE:
		return parse_mode(ctx, key, value, &sd->fmode);
	case K_DMODE:
		return parse_mode(ctx, key, value, &sd->dmode);
	case K_UIDMAP:
		return parse_idmap(ctx, key, value, &sd->uidmap);
	case K_GIDMAP:
		return parse_idmap(ctx, key, value, &sd->gidmap);
	default: /* K_MSIZE */
		if (argparse_uint(ctx, key, value, SHARED_DIR_MSIZE_MIN, SHARED_DIR_MSIZE_MAX, &n))
			return -EINVAL;
		sd->msize = (uint32_t)n;
		return 0;
	}
}

/* One KEY[=VALUE] item. */
static int parse_item(struct argparse_ctx *ctx, char *item, unsigned int *seen,
		      struct shared_dir_config *sd)
{
	char *value = strchr(item, '=');
	int id = -1;

	if (value)
		*value++ = '\0';
	for (const struct argparse_name *k = keys; k->name; k++) {
		if (!strcmp(k->name, item))
			id = k->value;
	}
	for (const char *const *u = unsupported; id < 0 && *u; u++) {
		if (!strcmp(*u, item))
			return argparse_fail(ctx,
					     "key '%s' is not supported by Cove's virtio-9p: "
					     "expected " KEYS,
					     item);
	}
	if (id < 0)
		return argparse_fail(ctx, "unknown key '%s': expected " KEYS, item);
	if (*seen & (1u << id))
		return argparse_fail(ctx, "%s given twice", key_names[id]);
	*seen |= 1u << id;
	return set_key(ctx, id, item, value, sd);
}

static int parse_fields(struct argparse_ctx *ctx, char *buf, struct shared_dir_config *sd)
{
	char *rest = buf, *path = strsep(&rest, ":"), *tag = rest ? strsep(&rest, ":") : NULL;
	unsigned int seen = 0;
	int ret = check_path(ctx, path);

	if (!ret && !tag)
		ret = argparse_fail(ctx, "missing TAG: expected " SHARED_DIR_USAGE);
	if (!ret)
		ret = check_tag(ctx, tag);
	while (!ret && rest) {
		char *item = strsep(&rest, ":");

		ret = item[0] ? parse_item(ctx, item, &seen, sd)
			      : argparse_fail(ctx, "empty item: expected " SHARED_DIR_USAGE);
	}
	if (!ret) {
		sd->path = strdup(path);
		sd->tag = strdup(tag);
		if (!sd->path || !sd->tag) {
			free(sd->path);
			free(sd->tag);
			return argparse_no_memory(ctx);
		}
	}
	return ret;
}

int shared_dir_parse(struct argparse_ctx *ctx, const char *value, struct shared_dir_config *sd)
{
	char *buf = strdup(value);
	int ret;

	vm_config_shared_dir_defaults(sd);
	if (!buf)
		return argparse_no_memory(ctx);
	ret = parse_fields(ctx, buf, sd);
	free(buf);
	if (ret) {
		sd->path = NULL;
		sd->tag = NULL;
	}
	return ret;
}

int shared_dir_model_from_accessmode(const char *accessmode, enum shared_dir_model *out)
{
	static const struct argparse_name modes[] = {{"passthrough", SHARED_DIR_PASSTHROUGH},
						     {"mapped", SHARED_DIR_MAPPED_XATTR},
						     {"squash", SHARED_DIR_NONE},
						     {0}};

	for (const struct argparse_name *m = modes; m->name; m++) {
		if (!strcmp(m->name, accessmode)) {
			*out = (enum shared_dir_model)m->value;
			return 0;
		}
	}
	return -EINVAL;
}
