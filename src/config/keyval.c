/* crosvm's key=value list syntax; see keyval.h for the grammar. */
#include "config/keyval.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int keyval_iter_init(struct keyval_iter *it, const char *list)
{
	memset(it, 0, sizeof(*it));
	it->buf = strdup(list);
	if (!it->buf)
		return -ENOMEM;
	it->pos = it->buf[0] ? it->buf : NULL;
	return 0;
}

void keyval_iter_free(struct keyval_iter *it)
{
	free(it->buf);
	memset(it, 0, sizeof(*it));
}

/*
 * Unquotes a "..." value in place, starting at the opening quote *p.
 * Returns the character after the closing quote, or NULL on bad quoting.
 */
static char *unquote(char *p, char *err, size_t errlen)
{
	char *dst = p;
	char *src = p + 1;

	for (; *src != '"'; src++) {
		if (*src == '\0') {
			snprintf(err, errlen, "missing closing '\"' in a quoted value");
			return NULL;
		}
		if (src[0] == '\\' && (src[1] == '"' || src[1] == '\\'))
			src++;
		*dst++ = *src;
	}
	src++; /* past the closing quote; dst < src, so the write below keeps it */
	if (*src != ',' && *src != '\0') {
		snprintf(err, errlen,
			 "unexpected text after a quoted value (a ',' must follow it)");
		return NULL;
	}
	*dst = '\0';
	return src;
}

/* Scans a plain value from p; returns the ',' or NUL ending it, or NULL. */
static char *scan_plain(char *p, char *err, size_t errlen)
{
	unsigned int depth = 0;

	for (; *p && (*p != ',' || depth > 0); p++) {
		if (*p == '[') {
			depth++;
		} else if (*p == ']') {
			if (depth == 0) {
				snprintf(err, errlen, "unbalanced ']' in a value");
				return NULL;
			}
			depth--;
		}
	}
	if (depth > 0) {
		snprintf(err, errlen, "missing ']' in a value");
		return NULL;
	}
	return p;
}

int keyval_next(struct keyval_iter *it, char **key, char **value, char *err, size_t errlen)
{
	char *p = it->pos;
	char *end;

	if (!p)
		return 0;
	*key = p;
	*value = NULL;
	p += strcspn(p, ",=");
	if (p == *key) {
		snprintf(err, errlen,
			 *p == '=' ? "missing key before '='" : "empty item in the list");
		return -EINVAL;
	}
	end = p;
	if (*p == '=') {
		*p++ = '\0';
		*value = p;
		end = *p == '"' ? unquote(p, err, errlen) : scan_plain(p, err, errlen);
		if (!end)
			return -EINVAL;
	}
	/* end is at ',' or NUL; a trailing ',' leaves an empty item for the next call. */
	it->pos = *end == ',' ? end + 1 : NULL;
	*end = '\0';
	it->count++;
	return 1;
}

static int find_key(const char *const *keys, const char *key)
{
	for (int i = 0; keys && keys[i]; i++) {
		if (strcmp(keys[i], key) == 0)
			return i;
	}
	return -1;
}

/* Writes "a, b, c" (the schema's keys) into buf. */
static void join_keys(const char *const *keys, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; keys[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", keys[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

static int reject_key(const struct keyval_schema *schema, const char *key, char *err, size_t errlen)
{
	char expected[256];

	join_keys(schema->keys, expected, sizeof(expected));
	if (find_key(schema->unsupported, key) >= 0)
		snprintf(err, errlen, "key '%s' is not supported yet: expected %s", key, expected);
	else
		snprintf(err, errlen, "unknown key '%s': expected %s", key, expected);
	return -EINVAL;
}

int keyval_next_known(struct keyval_iter *it, const struct keyval_schema *schema, unsigned int *id,
		      char **value, char *err, size_t errlen)
{
	char *key;
	int idx;
	int ret = keyval_next(it, &key, value, err, errlen);

	if (ret <= 0)
		return ret;
	idx = find_key(schema->keys, key);
	if (idx < 0 && !*value && schema->bare_first && it->count == 1 &&
	    find_key(schema->unsupported, key) < 0) {
		*value = key; /* `--cpus 2` means `--cpus num-cores=2` */
		idx = 0;
	}
	if (idx < 0)
		return reject_key(schema, key, err, errlen);
	if (idx >= KEYVAL_MAX_KEYS)
		return -EINVAL; /* a schema bug; the tests cover every schema */
	if (it->seen & (1u << idx)) {
		snprintf(err, errlen, "key '%s' given twice", schema->keys[idx]);
		return -EINVAL;
	}
	it->seen |= 1u << idx;
	*id = (unsigned int)idx;
	return 1;
}

int keyval_parse_bool(const char *value, bool *out)
{
	if (!value || strcmp(value, "true") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int keyval_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL; /* strtoull would take "-1", "+1" and " 1" */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*out = v;
	return 0;
}
