/*
 * Base64 (RFC 4648 section 4, with '=' padding), for the guest agent's
 * input-data, out-data and err-data (qemu-ga uses glib's encoder: the
 * standard alphabet, padded, no line breaks).
 */
#ifndef COVE_CONTROL_AGENT_BASE64_H
#define COVE_CONTROL_AGENT_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"

/* Encodes len bytes; returns a malloc'ed NUL-terminated string, or NULL. */
char *agent_base64_encode(const uint8_t *buf, size_t len);

/*
 * Decodes text[0..len) (whitespace ignored) into a malloc'ed buffer of
 * *out_len bytes. Returns 0, -EINVAL (not base64) or -ENOMEM.
 */
must_check int agent_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len);

#endif
