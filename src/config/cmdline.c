/* The guest kernel command line from a vm_config; see cmdline.h for the order. */
#include "config/cmdline.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * COM1..COM4 I/O ports, the PC standard (crosvm arch/src/serial.rs
 * SERIAL_ADDR). x86-only, like the "io" in earlycon=: when arm64 lands this
 * becomes an arch hook.
 */
static const unsigned int com_ports[SERIAL_MAX_COM] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};

struct line {
	char *buf;
	size_t len; /* capacity including the NUL */
	size_t used;
	bool full;
};

/* Appends n bytes of s as one item, space-separated from the previous one. */
static void put(struct line *l, const char *s, size_t n)
{
	size_t sep = l->used ? 1 : 0;

	if (l->full || l->used + sep + n >= l->len) {
		l->full = true;
		return;
	}
	if (sep)
		l->buf[l->used++] = ' ';
	memcpy(l->buf + l->used, s, n);
	l->used += n;
	l->buf[l->used] = '\0';
}

static void putf(struct line *l, const char *fmt, ...) printf_like(2, 3);
static void putf(struct line *l, const char *fmt, ...)
{
	char item[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	assert(n > 0 && (size_t)n < sizeof(item));
	put(l, item, (size_t)n);
}

/* Serial ports in crosvm's order: by hardware (UARTs first), then num. */
static unsigned int sorted_serials(const struct vm_config *cfg,
				   const struct serial_config *out[VM_CONFIG_MAX_SERIALS])
{
	unsigned int n = cfg->num_serials;

	for (unsigned int i = 0; i < n; i++) {
		const struct serial_config *sc = &cfg->serials[i];
		unsigned int j = i;

		for (; j > 0 && (out[j - 1]->hw > sc->hw ||
				 (out[j - 1]->hw == sc->hw && out[j - 1]->num > sc->num));
		     j--)
			out[j] = out[j - 1];
		out[j] = sc;
	}
	return n;
}

static void put_serial_items(struct line *l, const struct vm_config *cfg)
{
	const struct serial_config *order[VM_CONFIG_MAX_SERIALS];
	unsigned int n = sorted_serials(cfg, order);

	for (unsigned int i = 0; i < n; i++) {
		if (order[i]->console)
			putf(l, "console=%s%u", order[i]->hw == SERIAL_HW_UART ? "ttyS" : "hvc",
			     order[i]->num - 1);
	}
	for (unsigned int i = 0; i < n; i++) {
		if (!order[i]->earlycon)
			continue;
		/* vm_config_add_serial's callers allow earlycon on COM1..4 only. */
		assert(order[i]->hw == SERIAL_HW_UART && order[i]->num >= 1 &&
		       order[i]->num <= SERIAL_MAX_COM);
		putf(l, "earlycon=uart8250,io,0x%x", com_ports[order[i]->num - 1]);
		break;
	}
}

/* root=/dev/vdX ro|rw for the disk marked `root` (vm_config allows one). */
static void put_root(struct line *l, const struct vm_config *cfg)
{
	char name[8];

	for (unsigned int i = 0; i < cfg->num_disks; i++) {
		if (!cfg->disks[i].root)
			continue;
		vm_config_block_name(i, name);
		putf(l, "root=/dev/%s", name);
		put(l, cfg->disks[i].ro ? "ro" : "rw", 2);
		return;
	}
}

static void put_param(struct line *l, const char *p)
{
	size_t n;

	p += strspn(p, " ");
	n = strlen(p);
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (n > 0)
		put(l, p, n);
}

int cmdline_build(const struct vm_config *cfg, char *buf, size_t len)
{
	struct line l = {.buf = buf, .len = len};

	if (len == 0)
		return -E2BIG;
	buf[0] = '\0';
	put_serial_items(&l, cfg);
	put_root(&l, cfg);
	for (unsigned int i = 0; i < cfg->num_params; i++)
		put_param(&l, cfg->params[i]);
	if (l.full) {
		buf[0] = '\0';
		return -E2BIG;
	}
	return 0;
}
