/*
 * Unit tests for the 16550A UART, driven through its bus ops the way Linux's
 * 8250 driver drives it, with a fake interrupt line that records edges.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"
#include "devices/legacy/uart8250.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
       LSR = 5, MSR = 6, SCR = 7 };

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define MAX_EDGES 64

struct fixture {
	struct uart8250 u;
	bool levels[MAX_EDGES];	/* every level driven on the line, in order */
	unsigned int nlevels;
	unsigned int rx_ready_calls;
	int pipefd[2];
};

static void irq_hook(void *opaque, uint32_t gsi, bool level)
{
	struct fixture *f = opaque;

	assert_int_equal(gsi, 4);
	if (f->nlevels < MAX_EDGES)
		f->levels[f->nlevels++] = level;
}

static void rx_ready(void *opaque)
{
	struct fixture *f = opaque;

	f->rx_ready_calls++;
}

static bool line(const struct fixture *f)
{
	return f->nlevels > 0 && f->levels[f->nlevels - 1];
}

static unsigned int rising_edges(const struct fixture *f)
{
	unsigned int n = 0;
	bool prev = false;

	for (unsigned int i = 0; i < f->nlevels; i++) {
		if (f->levels[i] && !prev)
			n++;
		prev = f->levels[i];
	}
	return n;
}

static uint8_t rd(struct fixture *f, unsigned int reg)
{
	uint8_t v = 0;

	uart8250_bus_ops.read(&f->u, reg, &v, 1);
	return v;
}

static void wr(struct fixture *f, unsigned int reg, uint8_t v)
{
	uart8250_bus_ops.write(&f->u, reg, &v, 1);
}

static int setup_fd(void **state, bool with_pipe)
{
	struct fixture *f = test_calloc(1, sizeof(*f));
	struct irq_line irq = { .gsi = 4, .set_fn = irq_hook, .opaque = f };

	f->pipefd[0] = f->pipefd[1] = -1;
	if (with_pipe && pipe2(f->pipefd, O_CLOEXEC) < 0)
		return -1;
	if (uart8250_init(&f->u, &irq, f->pipefd[1]) < 0)
		return -1;
	uart8250_set_rx_ready(&f->u, rx_ready, f);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_fd(state, false);
}

static int setup_pipe(void **state)
{
	return setup_fd(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uart8250_destroy(&f->u);
	if (f->pipefd[0] >= 0) {
		close(f->pipefd[0]);
		close(f->pipefd[1]);
	}
	test_free(f);
	return 0;
}

static void test_reset_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(rd(f, MCR), 0);
	assert_int_equal(rd(f, LSR), 0x60);
	assert_int_equal(rd(f, MSR), 0xb0); /* CTS, DSR, DCD */
	assert_int_equal(f->nlevels, 0);
}

/* drivers/tty/serial/8250/8250_port.c: autoconfig() and autoconfig_16550a(). */
static void test_linux_autoconfig_finds_16550a(void **state)
{
	struct fixture *f = *state;
	uint8_t save_mcr, save_lcr, iir, iersave;
	unsigned int count;

	/* IER existence test. */
	wr(f, IER, 0);
	assert_int_equal(rd(f, IER) & 0x0f, 0);
	wr(f, IER, 0x0f);
	assert_int_equal(rd(f, IER) & 0x0f, 0x0f);
	wr(f, IER, 0);

	/* LOOP test: MCR = LOOP | OUT2 | RTS must read MSR[7:4] = DCD | CTS. */
	save_mcr = rd(f, MCR);
	save_lcr = rd(f, LCR);
	wr(f, MCR, MCR_LOOP | 0x0a);
	assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
	wr(f, MCR, save_mcr);

	/* FIFO type: IIR bits 7:6 = 3 is a 16550A. */
	wr(f, LCR, 0xbf);
	wr(f, FCR, 0); /* "EFR" on other chips */
	wr(f, LCR, 0);
	wr(f, FCR, 0x01);
	assert_int_equal(rd(f, IIR) >> 6, 3);

	/* Not a 16750: IIR bit 5 never sets, with or without DLAB. */
	wr(f, FCR, 0x01 | 0x20);
	iir = rd(f, IIR);
	assert_int_equal(iir >> 5, 6);
	wr(f, LCR, 0x80);
	wr(f, FCR, 0x01 | 0x20);
	assert_int_equal(rd(f, IIR) >> 5, 6);
	wr(f, LCR, 0);

	/* Not an XScale: IER bit 6 (UUE) does not stick. */
	iersave = rd(f, IER);
	wr(f, IER, iersave | 0x40);
	assert_int_equal(rd(f, IER) & 0x40, 0);
	wr(f, IER, iersave);

	/* size_fifo(): 256 bytes looped back at 115200 leave 16 in the FIFO. */
	wr(f, FCR, 0x01 | 0x02 | 0x04);
	wr(f, MCR, MCR_LOOP);
	wr(f, LCR, 0x80);
	wr(f, DLL, 1);
	wr(f, DLM, 0);
	wr(f, LCR, 0x03);
	for (count = 0; count < 256; count++)
		wr(f, THR, (uint8_t)count);
	for (count = 0; (rd(f, LSR) & 0x01) && count < 256; count++)
		assert_int_equal(rd(f, RBR), count);
	assert_int_equal(count, 16);

	wr(f, LCR, save_lcr);
	wr(f, MCR, save_mcr);
	assert_int_equal(rd(f, MSR) & 0xf0, 0xb0);
	assert_false(line(f));
}

static void test_dlab_latch(void **state)
{
	struct fixture *f = *state;

	wr(f, IER, 0x05);
	wr(f, LCR, 0x80 | 0x03);
	wr(f, DLL, 0x01);
	wr(f, DLM, 0x02);
	assert_int_equal(rd(f, DLL), 0x01);
	assert_int_equal(rd(f, DLM), 0x02);
	assert_int_equal(f->u.divisor, 0x0201);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, LCR), 0x03);
	assert_int_equal(rd(f, IER), 0x05); /* IER was untouched by DLM */
	assert_int_equal(f->u.divisor, 0x0201);
	/* With DLAB clear, offset 0 transmits instead of setting DLL. */
	wr(f, THR, 'x');
	assert_int_equal(f->u.divisor, 0x0201);
}

/* serial8250_do_startup's THRE test, then the interrupt's life cycle. */
static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;
	uint8_t iir1, iir2;

	wr(f, MCR, MCR_OUT2 | MCR_RTS | MCR_DTR);
	assert_int_equal(rd(f, LSR) & 0x20, 0x20);
	wr(f, IER, 0x02);
	assert_true(line(f));
	iir1 = rd(f, IIR);
	assert_false(line(f)); /* reading IIR acknowledged THRE */
	wr(f, IER, 0);
	wr(f, IER, 0x02);
	iir2 = rd(f, IIR);
	wr(f, IER, 0);
	assert_int_equal(iir1 & 0x0f, 0x02);
	assert_int_equal(iir2 & 0x0f, 0x02); /* re-asserted: no UART_BUG_THRE */
	assert_int_equal(rising_edges(f), 2);

	/* Enabled: acknowledged by IIR, re-armed by the next THR write. */
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, IIR), 0x02);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_false(line(f));
	wr(f, THR, 'a');
	assert_true(line(f));
	assert_int_equal(rising_edges(f), 4);
	/* Disabling ETBEI drops the line; rewriting it enabled does not re-arm. */
	wr(f, IER, 0);
	assert_false(line(f));
	wr(f, IER, 0x02);
	assert_true(line(f)); /* still armed from the write */
	assert_int_equal(rd(f, IIR), 0x02);
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void test_rx_fifo_data_available(void **state)
{
	struct fixture *f = *state;
	const uint8_t msg[] = "hello";

	wr(f, FCR, 0x01 | 0x02 | 0x04); /* FIFO on, trigger 1 */
	wr(f, MCR, MCR_OUT2);
	wr(f, IER, 0x01);
	assert_false(line(f));
	assert_int_equal(uart8250_receive(&f->u, msg, 5), 5);
	assert_true(line(f));
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, IIR), 0xc4);
	for (unsigned int i = 0; i < 5; i++) {
		assert_true(rd(f, LSR) & 0x01);
		assert_int_equal(rd(f, RBR), msg[i]);
	}
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_false(line(f));
	assert_int_equal(rising_edges(f), 1);
}

static void test_rx_below_trigger_is_character_timeout(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[14];

	memset(buf, 'z', sizeof(buf));
	wr(f, FCR, 0xc1); /* trigger at 14 */
	wr(f, MCR, MCR_OUT2);
	wr(f, IER, 0x01);
	assert_int_equal(uart8250_receive(&f->u, buf, 3), 3);
	assert_int_equal(rd(f, IIR), 0xcc);
	assert_true(line(f));
	assert_int_equal(uart8250_receive(&f->u, buf, 11), 11);
	assert_int_equal(rd(f, IIR), 0xc4);
	/* Without FIFOs every byte is "data available". */
	wr(f, FCR, 0);
	assert_int_equal(rd(f, IIR), 0x01); /* switching FIFO mode cleared RX */
	assert_int_equal(uart8250_receive(&f->u, buf, 3), 1);
	assert_int_equal(rd(f, IIR), 0x04);
}

static void test_rx_backpressure(void **state)
{
	struct fixture *f = *state;
	struct uart8250_stats st;
	uint8_t buf[20];

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	wr(f, FCR, 0x01);
	assert_int_equal(uart8250_rx_space(&f->u), 16);
	assert_int_equal(uart8250_receive(&f->u, buf, 20), 16);
	assert_int_equal(uart8250_rx_space(&f->u), 0);
	assert_int_equal(uart8250_receive(&f->u, buf + 16, 4), 0);
	assert_int_equal(f->rx_ready_calls, 0);
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(f->rx_ready_calls, 1);
	assert_int_equal(uart8250_rx_space(&f->u), 1);
	assert_int_equal(rd(f, RBR), 1);
	assert_int_equal(f->rx_ready_calls, 1); /* once per short receive */
	assert_int_equal(uart8250_receive(&f->u, buf + 16, 4), 2);
	/* Nothing was lost: the FIFO holds 2..17 in order. */
	for (unsigned int i = 2; i < 18; i++)
		assert_int_equal(rd(f, RBR), i);
	assert_int_equal(rd(f, LSR) & 0x03, 0); /* no data, no overrun */
	uart8250_get_stats(&f->u, &st);
	assert_int_equal(st.rx_bytes, 18);
	/* FIFOs off: a one-byte holding register. */
	wr(f, FCR, 0);
	assert_int_equal(uart8250_rx_space(&f->u), 1);
	assert_int_equal(uart8250_receive(&f->u, buf, 4), 1);
	assert_int_equal(uart8250_rx_space(&f->u), 0);
}

static void test_out2_gates_the_line(void **state)
{
	struct fixture *f = *state;
	const uint8_t c = 'k';

	wr(f, IER, 0x01);
	assert_int_equal(uart8250_receive(&f->u, &c, 1), 1);
	assert_int_equal(rd(f, IIR), 0x04); /* pending ... */
	assert_int_equal(f->nlevels, 0);    /* ... but not on the line */
	wr(f, MCR, MCR_OUT2);
	assert_true(line(f));
	wr(f, MCR, MCR_DTR | MCR_RTS);
	assert_false(line(f));
	wr(f, MCR, MCR_OUT2 | MCR_DTR | MCR_RTS);
	assert_true(line(f));
	assert_int_equal(rd(f, RBR), 'k');
	assert_false(line(f));
	assert_int_equal(rising_edges(f), 2);
}

static void test_new_input_while_pending_gives_a_new_edge(void **state)
{
	struct fixture *f = *state;
	const uint8_t c = 'q';

	wr(f, FCR, 0x01);
	wr(f, MCR, MCR_OUT2);
	wr(f, IER, 0x01);
	assert_int_equal(uart8250_receive(&f->u, &c, 1), 1);
	assert_int_equal(rising_edges(f), 1);
	assert_int_equal(uart8250_receive(&f->u, &c, 1), 1);
	assert_int_equal(rising_edges(f), 2);
	assert_true(line(f));
	/* With receive interrupts off, input does not touch the line. */
	wr(f, IER, 0);
	assert_false(line(f));
	assert_int_equal(uart8250_receive(&f->u, &c, 1), 1);
	assert_false(line(f));
}

static void test_output_reaches_fd(void **state)
{
	struct fixture *f = *state;
	const char msg[] = "Linux version";
	char got[sizeof(msg)] = { 0 };
	struct uart8250_stats st;

	for (size_t i = 0; i < strlen(msg); i++) {
		while (!(rd(f, LSR) & 0x20))
			;
		wr(f, THR, (uint8_t)msg[i]);
	}
	assert_int_equal(read(f->pipefd[0], got, sizeof(got)), (ssize_t)strlen(msg));
	assert_string_equal(got, msg);
	uart8250_get_stats(&f->u, &st);
	assert_int_equal(st.tx_bytes, strlen(msg));
	assert_int_equal(st.tx_dropped, 0);
}

static void test_full_nonblocking_output_drops_and_counts(void **state)
{
	struct fixture *f = *state;
	char chunk[4096];
	struct uart8250_stats st;
	char c;

	memset(chunk, '.', sizeof(chunk));
	assert_int_equal(fcntl(f->pipefd[1], F_SETFL, O_NONBLOCK), 0);
	while (write(f->pipefd[1], chunk, sizeof(chunk)) > 0)
		;
	while (write(f->pipefd[1], chunk, 1) > 0)
		;
	wr(f, THR, 'a'); /* waits at most UART8250_TX_WAIT_MS */
	wr(f, THR, 'b'); /* stalled: no second wait */
	uart8250_get_stats(&f->u, &st);
	assert_int_equal(st.tx_dropped, 2);
	assert_int_equal(st.tx_bytes, 0);
	assert_int_equal(rd(f, LSR) & 0x60, 0x60); /* the guest never hangs */
	/* Once the reader drains, output resumes. */
	assert_int_equal(fcntl(f->pipefd[0], F_SETFL, O_NONBLOCK), 0);
	while (read(f->pipefd[0], chunk, sizeof(chunk)) > 0)
		;
	wr(f, THR, 'c');
	assert_int_equal(read(f->pipefd[0], &c, 1), 1);
	assert_int_equal(c, 'c');
	uart8250_get_stats(&f->u, &st);
	assert_int_equal(st.tx_bytes, 1);
}

static void test_loopback_does_not_output_and_overruns(void **state)
{
	struct fixture *f = *state;
	char c;
	uint8_t lsr;

	assert_int_equal(fcntl(f->pipefd[0], F_SETFL, O_NONBLOCK), 0);
	wr(f, FCR, 0x01);
	wr(f, MCR, MCR_LOOP | MCR_OUT2);
	wr(f, IER, 0x04 | 0x01);
	for (unsigned int i = 0; i < 17; i++)
		wr(f, THR, (uint8_t)('A' + i));
	assert_int_equal(read(f->pipefd[0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
	/* Receiver line status outranks received data. */
	assert_true(line(f));
	assert_int_equal(rd(f, IIR), 0xc6);
	lsr = rd(f, LSR);
	assert_int_equal(lsr & 0x03, 0x03); /* DR and OE */
	assert_int_equal(rd(f, LSR) & 0x02, 0); /* OE cleared by the read */
	assert_int_equal(rd(f, IIR), 0xc4);
	assert_int_equal(rd(f, RBR), 'A');
}

static void test_loopback_modem_status(void **state)
{
	struct fixture *f = *state;

	wr(f, MCR, MCR_LOOP);
	assert_int_equal(rd(f, MSR), 0x0b); /* CTS, DSR, DCD fell: deltas */
	wr(f, IER, 0x08);
	wr(f, MCR, MCR_LOOP | MCR_OUT2);
	assert_true(line(f));
	assert_int_equal(rd(f, IIR), 0x00); /* modem status */
	assert_int_equal(rd(f, MSR), 0x80 | 0x08);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_false(line(f));
	wr(f, MCR, MCR_LOOP | MCR_OUT2 | MCR_OUT1 | MCR_DTR | MCR_RTS);
	assert_int_equal(rd(f, MSR), 0xf0 | 0x01 | 0x02);
	wr(f, MCR, MCR_LOOP | MCR_OUT2);
	assert_int_equal(rd(f, MSR), 0x80 | 0x04 | 0x01 | 0x02); /* TERI on RI falling */
}

static void test_priority_order(void **state)
{
	struct fixture *f = *state;
	const uint8_t c = '1';

	wr(f, MCR, MCR_OUT2);
	wr(f, IER, 0x0f);
	assert_int_equal(rd(f, IIR), 0x02); /* THRE (armed by enabling) */
	wr(f, THR, 'x');
	assert_int_equal(uart8250_receive(&f->u, &c, 1), 1);
	assert_int_equal(rd(f, IIR), 0x04); /* data outranks THRE */
	assert_int_equal(rd(f, RBR), '1');
	assert_int_equal(rd(f, IIR), 0x02);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void test_scratch_and_wide_access(void **state)
{
	struct fixture *f = *state;
	uint16_t v = 0;

	wr(f, SCR, 0xa5);
	assert_int_equal(rd(f, SCR), 0xa5);
	/* A 2-byte read at LCR reads LCR then MCR. */
	wr(f, LCR, 0x03);
	wr(f, MCR, 0x0b);
	uart8250_bus_ops.read(&f->u, LCR, &v, 2);
	assert_int_equal(v, 0x0b03);
}

static void test_com_table(void **state)
{
	(void)state;
	assert_int_equal(uart8250_com_port(1), 0x3f8);
	assert_int_equal(uart8250_com_irq(1), 4);
	assert_int_equal(uart8250_com_port(2), 0x2f8);
	assert_int_equal(uart8250_com_irq(2), 3);
	assert_int_equal(uart8250_com_port(3), 0x3e8);
	assert_int_equal(uart8250_com_irq(3), 4);
	assert_int_equal(uart8250_com_port(4), 0x2e8);
	assert_int_equal(uart8250_com_irq(4), 3);
	assert_int_equal(uart8250_com_port(0), 0);
	assert_int_equal(uart8250_com_port(5), 0);
	assert_int_equal(uart8250_com_irq(5), 0);
}

static void test_register_on_bus(void **state)
{
	struct fixture *f = *state;
	struct bus pio;
	uint8_t v = 0;

	bus_init(&pio);
	assert_int_equal(uart8250_register(&f->u, &pio, uart8250_com_port(1), "com1"), 0);
	assert_int_equal(uart8250_register(&f->u, &pio, 0x3fc, "overlap"), -EEXIST);
	assert_true(bus_read(&pio, 0x3fd, &v, 1));
	assert_int_equal(v, 0x60);
}

/*
 * The host side (an event-loop thread) pushes a long stream while a vCPU
 * thread reads it like the 8250 driver; back-pressure plus rx_ready must
 * deliver every byte, in order, without busy-waiting on the host side.
 */
#define STREAM_LEN 20000

struct stream {
	struct uart8250 u;
	sem_t room;
	unsigned int waits;
};

static void stream_rx_ready(void *opaque)
{
	struct stream *s = opaque;

	sem_post(&s->room);
}

static void *stream_host(void *opaque)
{
	struct stream *s = opaque;
	uint8_t buf[256];
	size_t sent = 0, len = 0, off = 0, n;

	while (sent < STREAM_LEN) {
		if (off == len) {
			len = MIN(sizeof(buf), (size_t)STREAM_LEN - sent);
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)((sent + i) * 7);
			off = 0;
		}
		n = uart8250_receive(&s->u, buf + off, len - off);
		off += n;
		sent += n;
		if (off < len) {
			s->waits++;
			sem_wait(&s->room);
		}
	}
	return NULL;
}

static void test_threaded_stream_loses_nothing(void **state)
{
	struct stream *s = test_calloc(1, sizeof(*s));
	struct irq_line irq = { .gsi = 4 }; /* not connected */
	pthread_t host;
	size_t got = 0;
	uint8_t v;

	(void)state;
	assert_int_equal(sem_init(&s->room, 0, 0), 0);
	assert_int_equal(uart8250_init(&s->u, &irq, -1), 0);
	uart8250_set_rx_ready(&s->u, stream_rx_ready, s);
	uart8250_bus_ops.write(&s->u, FCR, &(uint8_t){ 0x01 }, 1);
	assert_int_equal(pthread_create(&host, NULL, stream_host, s), 0);
	while (got < STREAM_LEN) {
		uart8250_bus_ops.read(&s->u, LSR, &v, 1);
		if (!(v & 0x01))
			continue;
		uart8250_bus_ops.read(&s->u, RBR, &v, 1);
		assert_int_equal(v, (uint8_t)(got * 7));
		got++;
	}
	assert_int_equal(pthread_join(host, NULL), 0);
	assert_true(s->waits > 0);
	uart8250_destroy(&s->u);
	sem_destroy(&s->room);
	test_free(s);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TP(fn) cmocka_unit_test_setup_teardown(fn, setup_pipe, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_state),
		T(test_linux_autoconfig_finds_16550a),
		T(test_dlab_latch),
		T(test_thre_interrupt),
		T(test_rx_fifo_data_available),
		T(test_rx_below_trigger_is_character_timeout),
		T(test_rx_backpressure),
		T(test_out2_gates_the_line),
		T(test_new_input_while_pending_gives_a_new_edge),
		TP(test_output_reaches_fd),
		TP(test_full_nonblocking_output_drops_and_counts),
		TP(test_loopback_does_not_output_and_overruns),
		T(test_loopback_modem_status),
		T(test_priority_order),
		T(test_scratch_and_wide_access),
		T(test_com_table),
		T(test_register_on_bus),
		cmocka_unit_test(test_threaded_stream_loses_nothing),
	};

	log_set_level(LOG_LEVEL_OFF);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
