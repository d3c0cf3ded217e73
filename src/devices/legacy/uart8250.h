/*
 * A 16550A UART on the port I/O bus, as the PC COM ports and Linux's 8250
 * driver (drivers/tty/serial/8250) use it: 8 registers, 16-byte FIFOs, the
 * DLAB divisor latch, loopback, and the four interrupt sources with the
 * datasheet's priorities (National Semiconductor PC16550D).
 *
 * Transmission is instantaneous: a byte written to THR goes straight to the
 * output fd, so THR and the transmitter are always empty again by the next
 * access (LSR.THRE and LSR.TEMT read as 1) and the THR-empty interrupt
 * re-arms at once. The divisor and line settings are stored, not timed.
 *
 * Threads: the bus handlers run on vCPU threads; uart8250_receive runs on the
 * event-loop thread. One mutex per port serialises them.
 */
#ifndef COVE_DEVICES_LEGACY_UART8250_H
#define COVE_DEVICES_LEGACY_UART8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "vm/bus.h"
#include "vm/irq.h"

#define UART8250_REG_COUNT 8	/* I/O ports a UART occupies */
#define UART8250_FIFO_SIZE 16
#define UART8250_COM_COUNT 4
/* How long a THR write may wait for a non-blocking output fd to drain. */
#define UART8250_TX_WAIT_MS 50

struct uart8250_stats {
	uint64_t tx_bytes;	/* bytes written to out_fd (or the sink) */
	uint64_t tx_dropped;	/* bytes the output fd would not take */
	uint64_t rx_bytes;	/* bytes accepted by uart8250_receive */
	uint64_t rx_overruns;	/* loopback bytes lost to a full RX FIFO */
};

struct uart8250 {
	pthread_mutex_t lock;
	struct irq_line irq;
	int out_fd;

	uint8_t ier, lcr, mcr, scr, fcr;
	uint8_t lsr_errors;	/* sticky LSR error bits (OE), cleared by LSR reads */
	uint8_t msr_delta;	/* MSR bits 3:0, cleared by MSR reads */
	uint16_t divisor;
	bool thre_pending;	/* THR-empty interrupt armed (cleared by IIR read) */

	uint8_t rx_fifo[UART8250_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	uint8_t rx_last;

	bool irq_level;		/* last level driven on the line */
	bool tx_stalled;	/* the output fd refused a byte: do not wait again */
	bool rx_waiting;	/* a receive came up short: report freed space */
	void (*rx_ready_fn)(void *opaque);
	void *rx_ready_opaque;

	struct uart8250_stats stats;
};

/*
 * Initialises a UART in its reset state. `irq` is copied; `out_fd` receives
 * transmitted bytes (-1 discards them) and stays owned by the caller. For
 * output that must never stall a vCPU, pass a non-blocking fd: a byte it
 * cannot take within UART8250_TX_WAIT_MS is dropped and counted. Writing to
 * a pipe or socket whose reader is gone raises SIGPIPE, which the process
 * is expected to ignore. Returns 0 or -errno.
 */
must_check int uart8250_init(struct uart8250 *u, const struct irq_line *irq, int out_fd);
void uart8250_destroy(struct uart8250 *u);

/*
 * Optional: `fn` is called (without the UART's lock held, on a vCPU thread)
 * when the guest frees RX FIFO space after uart8250_receive accepted fewer
 * bytes than offered, so the caller can resume reading its input. Set it
 * before the vCPUs run.
 */
void uart8250_set_rx_ready(struct uart8250 *u, void (*fn)(void *opaque), void *opaque);

/* Bus handlers; opaque is the struct uart8250. */
extern const struct bus_ops uart8250_bus_ops;

/* Claims [base, base+8) on `pio`. Returns 0 or bus_register's -errno. */
must_check int uart8250_register(struct uart8250 *u, struct bus *pio, uint16_t base,
				 const char *name);

/*
 * Queues host input for the guest. Returns how many bytes of `buf` fit in
 * the RX FIFO (possibly 0); the caller keeps the rest and retries after
 * rx_ready or when uart8250_rx_space says there is room. Raises the
 * receive interrupt as the guest enabled it.
 */
size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len);

/* Free RX FIFO slots now (1 at most while the guest has the FIFOs off). */
size_t uart8250_rx_space(struct uart8250 *u);

void uart8250_get_stats(struct uart8250 *u, struct uart8250_stats *out);

/* The PC's COMn port base and ISA IRQ for n in 1..4; 0 for any other n. */
uint16_t uart8250_com_port(unsigned int num);
uint32_t uart8250_com_irq(unsigned int num);

#endif
