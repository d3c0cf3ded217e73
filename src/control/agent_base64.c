/* Base64 for the guest agent's data members; see agent_base64.h. */
#include "control/agent_base64.h"

#include <errno.h>
#include <stdlib.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *agent_base64_encode(const uint8_t *buf, size_t len)
{
	size_t groups = len / 3 + (len % 3 != 0);
	char *out, *o;

	if (groups > (SIZE_MAX - 1) / 4)
		return NULL;
	out = malloc(groups * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)buf[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)buf[i + 1] << 8;
		if (n > 2)
			v |= buf[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = n > 1 ? alphabet[(v >> 6) & 63] : '=';
		*o++ = n > 2 ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* The 6-bit value of c, -1 for padding, -2 for whitespace, -3 otherwise. */
static int value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	if (c == '=')
		return -1;
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' ? -2 : -3;
}

int agent_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	size_t n = 0, pad = 0;
	uint32_t acc = 0;
	unsigned int bits = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		int v = value(text[i]);

		if (v == -2)
			continue;
		if (v == -3 || (v >= 0 && pad)) /* junk, or data after padding */
			goto invalid;
		if (v == -1) {
			pad++;
			continue;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero padding of a final group of 2 or 3 characters. */
	if (pad > 2 || bits >= 6 || (acc & ((1u << bits) - 1)))
		goto invalid;
	*out = buf;
	*out_len = n;
	return 0;

invalid:
	free(buf);
	return -EINVAL;
}
