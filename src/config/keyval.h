/*
 * keyval: crosvm's key=value list syntax for struct-valued options (the
 * subset of serde_keyvalue that Cove's options use; see
 * reference/protocols.md section 1.1):
 *
 *   list  := "" | item ("," item)*
 *   item  := key | key "=" value          a bare key means key=true
 *   value := "\"" quoted "\"" | plain      quoted: \" and \\ are escapes
 *   plain := text; commas inside [...] do not split (kvm[device=/x] style)
 *
 * A schema names the accepted keys; lookups reject unknown keys (naming the
 * expected ones), keys crosvm has but Cove does not support yet, and keys
 * given twice. Options like --cpus also take their first key's value bare
 * (`--cpus 2` == `--cpus num-cores=2`).
 */
#ifndef COVE_CONFIG_KEYVAL_H
#define COVE_CONFIG_KEYVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

#define KEYVAL_MAX_KEYS 32 /* a schema's keys must fit the `seen` bitmask */

struct keyval_schema {
	const char *const *keys;	/* NULL-terminated; index = key id */
	const char *const *unsupported; /* NULL-terminated or NULL: crosvm keys not supported yet */
	bool bare_first; /* a first item without '=' that is no key is keys[0]'s value */
};

struct keyval_iter {
	char *buf;	    /* private copy of the list, split in place */
	char *pos;	    /* next item; NULL at the end */
	unsigned int count; /* items returned so far */
	uint32_t seen;	    /* bit i: keys[i] already given */
};

/* Starts iterating over a copy of `list`. Returns 0 or -ENOMEM. */
must_check int keyval_iter_init(struct keyval_iter *it, const char *list);
void keyval_iter_free(struct keyval_iter *it);

/*
 * Splits off the next item: *key and *value (NULL for a bare key) point into
 * the iterator's buffer and live until keyval_iter_free(). Returns 1 for an
 * item, 0 at the end, or -EINVAL with one line in err (empty item, bad
 * quoting, unbalanced brackets).
 */
must_check int keyval_next(struct keyval_iter *it, char **key, char **value, char *err,
			   size_t errlen);

/*
 * keyval_next() plus the schema: *id is the key's index in schema->keys.
 * Returns 1, 0 at the end, or -EINVAL with one line in err.
 */
must_check int keyval_next_known(struct keyval_iter *it, const struct keyval_schema *schema,
				 unsigned int *id, char **value, char *err, size_t errlen);

/* NULL (bare key) or "true" -> true, "false" -> false; else -EINVAL. */
must_check int keyval_parse_bool(const char *value, bool *out);

/*
 * Strict unsigned decimal: digits only (no sign, space, or suffix), all of
 * the string consumed. Returns 0, -EINVAL, or -ERANGE on overflow.
 */
must_check int keyval_parse_u64(const char *s, uint64_t *out);

#endif
