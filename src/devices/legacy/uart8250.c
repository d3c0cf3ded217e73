/*
 * 16550A UART (see uart8250.h), following the National Semiconductor
 * PC16550D datasheet and what Linux's 8250 driver checks:
 *
 *  - autoconfig: IER bits 3:0 read back what was written and bits 7:4 read
 *    0; in loopback MCR bits 3:0 drive MSR bits 7:4 (the "LOOP test"
 *    expects 0x90 for MCR = LOOP|OUT2|RTS); with FCR bit 0 set, IIR bits 7:6
 *    read 11 (16550A) and IIR bit 5 stays 0 (not a 16750); size_fifo counts
 *    16 bytes looped back.
 *  - startup's THRE test: enabling ETBEI while THR is empty raises the THR
 *    empty interrupt; an IIR read that reports it clears it; disabling and
 *    re-enabling ETBEI raises it again.
 *
 * Interrupt priorities (IIR bits 3:1): receiver line status (OE), received
 * data available or character timeout, THR empty, modem status. The
 * character timeout (IIR 0x0C) stands for "data below the FIFO trigger level
 * and nothing more arriving": input arrives in bursts from the host, so it
 * is reported as soon as the burst is queued.
 *
 * The interrupt output is gated by MCR.OUT2, as the PC's COM port wiring
 * does (also in loopback, where the bit, not the pin, is used so that
 * loopback tests with interrupts work). The line is held high while an
 * enabled interrupt is pending; ISA IRQs are edge-triggered, so when new
 * input arrives while the line is already high it is pulsed to give the
 * guest a fresh edge.
 */
#include "devices/legacy/uart8250.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

/* Register offsets. With LCR.DLAB set, 0 and 1 are the divisor latch. */
enum {
	REG_RBR_THR = 0,
	REG_IER = 1,
	REG_IIR_FCR = 2,
	REG_LCR = 3,
	REG_MCR = 4,
	REG_LSR = 5,
	REG_MSR = 6,
	REG_SCR = 7,
};

#define IER_RDI 0x01	/* received data available */
#define IER_THRI 0x02	/* THR empty */
#define IER_RLSI 0x04	/* receiver line status */
#define IER_MSI 0x08	/* modem status */
#define IER_MASK 0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_RX_TIMEOUT 0x0c
#define IIR_FIFO_BITS 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_DMA_MODE 0x08
#define FCR_TRIGGER 0xc0

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS 0x1e	/* OE, PE, FE, BI */

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

/* 9600 baud from the 1.8432 MHz clock: a plausible value left by firmware. */
#define DEFAULT_DIVISOR 12

static const struct {
	uint16_t port;
	uint32_t irq;
} com_ports[UART8250_COM_COUNT] = {
	{ 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

uint16_t uart8250_com_port(unsigned int num)
{
	if (num < 1 || num > UART8250_COM_COUNT)
		return 0;
	return com_ports[num - 1].port;
}

uint32_t uart8250_com_irq(unsigned int num)
{
	if (num < 1 || num > UART8250_COM_COUNT)
		return 0;
	return com_ports[num - 1].irq;
}

/* ---- FIFO and line state (callers hold the lock) ---- */

static bool fifo_enabled(const struct uart8250 *u)
{
	return u->fcr & FCR_ENABLE;
}

static unsigned int rx_capacity(const struct uart8250 *u)
{
	return fifo_enabled(u) ? UART8250_FIFO_SIZE : 1;
}

static unsigned int rx_trigger(const struct uart8250 *u)
{
	static const unsigned int levels[4] = { 1, 4, 8, 14 };

	return levels[(u->fcr & FCR_TRIGGER) >> 6];
}

static bool rx_push(struct uart8250 *u, uint8_t byte)
{
	if (u->rx_count >= rx_capacity(u))
		return false;
	u->rx_fifo[(u->rx_head + u->rx_count) % UART8250_FIFO_SIZE] = byte;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart8250 *u)
{
	if (u->rx_count == 0)
		return u->rx_last;
	u->rx_last = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART8250_FIFO_SIZE;
	u->rx_count--;
	return u->rx_last;
}

static void rx_clear(struct uart8250 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

/* MSR bits 7:4: the modem inputs, or MCR bits 3:0 looped back. */
static uint8_t modem_inputs(const struct uart8250 *u)
{
	uint8_t in = 0;

	if (!(u->mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	if (u->mcr & MCR_RTS)
		in |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		in |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		in |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		in |= MSR_DCD;
	return in;
}

/* Records MSR delta bits for a change of the modem inputs from `old`. */
static void note_modem_change(struct uart8250 *u, uint8_t old)
{
	uint8_t now = modem_inputs(u), changed = old ^ now;

	if (changed & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(now & MSR_RI))
		u->msr_delta |= MSR_TERI; /* trailing edge of RI only */
}

/* The highest-priority enabled interrupt, as IIR bits 3:0. */
static uint8_t pending_interrupt(const struct uart8250 *u)
{
	if ((u->ier & IER_RLSI) && (u->lsr_errors & LSR_ERRORS))
		return IIR_RLSI;
	if ((u->ier & IER_RDI) && u->rx_count > 0) {
		if (fifo_enabled(u) && u->rx_count < rx_trigger(u))
			return IIR_RX_TIMEOUT;
		return IIR_RDI;
	}
	if ((u->ier & IER_THRI) && u->thre_pending)
		return IIR_THRI;
	if ((u->ier & IER_MSI) && u->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Drives the line to match the pending state; `pulse` forces a new edge. */
static void update_irq(struct uart8250 *u, bool pulse)
{
	bool level = pending_interrupt(u) != IIR_NO_INT && (u->mcr & MCR_OUT2);

	if (level && u->irq_level && pulse)
		irq_line_set(&u->irq, false);
	else if (level == u->irq_level)
		return;
	u->irq_level = level;
	irq_line_set(&u->irq, level);
}

/* ---- output ---- */

/* A host-side failure that would repeat for every byte: log it once. */
static void report_output_error(int err)
{
	static bool logged;

	if (!__atomic_exchange_n(&logged, true, __ATOMIC_RELAXED))
		log_warn("uart8250: writing output failed: %s; dropping output", strerror(err));
}

static bool wait_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int n;

	do
		n = poll(&pfd, 1, UART8250_TX_WAIT_MS);
	while (n < 0 && errno == EINTR);
	return n > 0 && (pfd.revents & POLLOUT);
}

/*
 * Writes `len` bytes to out_fd, retrying EINTR and partial writes. A full
 * non-blocking fd gets one bounded wait per stall; whatever it still will
 * not take is dropped and counted.
 */
static void output(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(u->out_fd, buf + done, len - done);

		if (n > 0) {
			done += (size_t)n;
			u->tx_stalled = false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!u->tx_stalled && wait_writable(u->out_fd))
				continue;
			u->tx_stalled = true;
		} else {
			report_output_error(n < 0 ? errno : EIO);
		}
		break;
	}
	u->stats.tx_bytes += done;
	u->stats.tx_dropped += len - done;
}

/* A byte leaves through THR: looped back to RX, or sent to the output. */
static void transmit(struct uart8250 *u, uint8_t byte)
{
	if (u->mcr & MCR_LOOP) {
		if (!rx_push(u, byte)) {
			u->lsr_errors |= LSR_OE; /* the datasheet's overrun: byte lost */
			u->stats.rx_overruns++;
		}
	} else if (u->out_fd >= 0) {
		output(u, &byte, 1);
	} else {
		u->stats.tx_bytes++;
	}
	/* Sent at once: THR is empty again, which arms the THRE interrupt. */
	u->thre_pending = true;
}

/* ---- register access (callers hold the lock) ---- */

static uint8_t read_iir(struct uart8250 *u)
{
	uint8_t id = pending_interrupt(u);

	if (id == IIR_THRI)
		u->thre_pending = false; /* reading IIR acknowledges THRE */
	return id | (fifo_enabled(u) ? IIR_FIFO_BITS : 0);
}

static uint8_t read_lsr(struct uart8250 *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT | u->lsr_errors;

	if (u->rx_count > 0)
		lsr |= LSR_DR;
	u->lsr_errors = 0;
	return lsr;
}

static uint8_t read_msr(struct uart8250 *u)
{
	uint8_t msr = modem_inputs(u) | u->msr_delta;

	u->msr_delta = 0;
	return msr;
}

static uint8_t read_reg(struct uart8250 *u, unsigned int reg)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		return dlab ? (uint8_t)u->divisor : rx_pop(u);
	case REG_IER:
		return dlab ? (uint8_t)(u->divisor >> 8) : u->ier;
	case REG_IIR_FCR:
		return read_iir(u);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		return read_lsr(u);
	case REG_MSR:
		return read_msr(u);
	default:
		return u->scr;
	}
}

static void write_ier(struct uart8250 *u, uint8_t val)
{
	uint8_t old = u->ier;

	u->ier = val & IER_MASK;
	/* Enabling ETBEI while THR is empty raises THRE (Linux's THRE test). */
	if (!(old & IER_THRI) && (u->ier & IER_THRI))
		u->thre_pending = true;
}

static void write_fcr(struct uart8250 *u, uint8_t val)
{
	bool enable = val & FCR_ENABLE;

	if (enable != fifo_enabled(u))
		rx_clear(u); /* switching FIFO mode empties the FIFOs */
	if (!enable) {
		u->fcr = 0; /* the other bits are only programmed with bit 0 set */
		return;
	}
	if (val & FCR_CLEAR_RX)
		rx_clear(u);
	/* FCR_CLEAR_TX: the transmitter is always empty already. */
	u->fcr = val & (FCR_ENABLE | FCR_DMA_MODE | FCR_TRIGGER);
}

static void write_mcr(struct uart8250 *u, uint8_t val)
{
	uint8_t old_inputs = modem_inputs(u);

	u->mcr = val & MCR_MASK;
	note_modem_change(u, old_inputs);
}

/* Guest-controlled: reg (0..7) and val. */
static void write_reg(struct uart8250 *u, unsigned int reg, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_RBR_THR:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0xff00) | val);
		else
			transmit(u, val);
		break;
	case REG_IER:
		if (dlab)
			u->divisor = (uint16_t)((u->divisor & 0x00ff) | (val << 8));
		else
			write_ier(u, val);
		break;
	case REG_IIR_FCR:
		write_fcr(u, val);
		break;
	case REG_LCR:
		u->lcr = val;
		break;
	case REG_MCR:
		write_mcr(u, val);
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* factory-test writes: ignored */
	default:
		u->scr = val;
		break;
	}
}

/*
 * If a receive came up short and the guest has since made room, claims the
 * notification (the caller makes it after dropping the lock).
 */
static bool take_rx_ready(struct uart8250 *u)
{
	if (!u->rx_waiting || u->rx_count >= rx_capacity(u) || u->rx_ready_fn == NULL)
		return false;
	u->rx_waiting = false;
	return true;
}

static void notify_rx_ready(struct uart8250 *u, bool notify)
{
	if (notify)
		u->rx_ready_fn(u->rx_ready_opaque);
}

/*
 * Bus handlers. Accesses wider than a byte act as consecutive byte accesses
 * (the bus keeps them inside the 8 registers).
 */
static void uart_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct uart8250 *u = opaque;
	uint8_t *out = data;
	bool notify;

	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++)
		out[i] = read_reg(u, (unsigned int)((offset + i) % UART8250_REG_COUNT));
	update_irq(u, false);
	notify = take_rx_ready(u);
	pthread_mutex_unlock(&u->lock);
	notify_rx_ready(u, notify);
}

static void uart_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct uart8250 *u = opaque;
	const uint8_t *in = data;
	bool notify;

	pthread_mutex_lock(&u->lock);
	for (uint32_t i = 0; i < len; i++)
		write_reg(u, (unsigned int)((offset + i) % UART8250_REG_COUNT), in[i]);
	update_irq(u, false);
	notify = take_rx_ready(u);
	pthread_mutex_unlock(&u->lock);
	notify_rx_ready(u, notify);
}

const struct bus_ops uart8250_bus_ops = {
	.read = uart_read,
	.write = uart_write,
};

/* ---- lifecycle and host side ---- */

int uart8250_init(struct uart8250 *u, const struct irq_line *irq, int out_fd)
{
	int ret;

	memset(u, 0, sizeof(*u));
	ret = pthread_mutex_init(&u->lock, NULL);
	if (ret != 0)
		return -ret;
	u->irq = *irq;
	u->out_fd = out_fd;
	u->divisor = DEFAULT_DIVISOR;
	return 0;
}

void uart8250_destroy(struct uart8250 *u)
{
	pthread_mutex_destroy(&u->lock);
}

void uart8250_set_rx_ready(struct uart8250 *u, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&u->lock);
	u->rx_ready_fn = fn;
	u->rx_ready_opaque = opaque;
	pthread_mutex_unlock(&u->lock);
}

int uart8250_register(struct uart8250 *u, struct bus *pio, uint16_t base, const char *name)
{
	return bus_register(pio, base, UART8250_REG_COUNT, &uart8250_bus_ops, u, name);
}

size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	while (n < len && rx_push(u, buf[n]))
		n++;
	u->stats.rx_bytes += n;
	if (n < len)
		u->rx_waiting = true;
	/* New data while the line is already high still deserves an edge. */
	update_irq(u, n > 0 && (u->ier & IER_RDI));
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart8250_rx_space(struct uart8250 *u)
{
	size_t space;

	pthread_mutex_lock(&u->lock);
	space = rx_capacity(u) - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return space;
}

void uart8250_get_stats(struct uart8250 *u, struct uart8250_stats *out)
{
	pthread_mutex_lock(&u->lock);
	*out = u->stats;
	pthread_mutex_unlock(&u->lock);
}
