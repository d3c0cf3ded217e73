/*
 * The PC's CMOS real-time clock (Motorola MC146818A) and its 128 bytes of
 * CMOS RAM at ports CMOS_RTC_INDEX_PORT (0x70: bit 7 = NMI mask, bits 6:0 =
 * register) and CMOS_RTC_DATA_PORT (0x71).
 *
 * Time registers 0x00-0x09 and the century byte 0x32 are computed from the
 * host's UTC clock plus an offset at every read, honouring register B's
 * binary/BCD (DM) and 24/12-hour bits. Guest writes to them set the offset,
 * so `hwclock --systohc` sticks for the life of the VM. Register A's UIP bit
 * is set only in the last 244 us of each second, as on the chip, and never
 * while register B's SET bit holds the clock. Register D reads VRT (valid
 * time). The other bytes are plain CMOS RAM.
 *
 * No interrupts: periodic, alarm and update-ended interrupts are not
 * generated and register C reads 0, so IRQ 8 stays unused (Linux's rtc-cmos
 * then has no alarm and hwclock falls back to polling the time).
 * For Linux to read the century byte, the ACPI FADT's CENTURY field must be
 * CMOS_RTC_CENTURY_REG.
 */
#ifndef COVE_DEVICES_LEGACY_CMOS_RTC_H
#define COVE_DEVICES_LEGACY_CMOS_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/compiler.h"
#include "vm/bus.h"

#define CMOS_RTC_INDEX_PORT 0x70
#define CMOS_RTC_DATA_PORT 0x71
#define CMOS_RTC_NVRAM_SIZE 128
#define CMOS_RTC_CENTURY_REG 0x32

/* Reads the host's real-time clock (UTC). Tests pass a fixed clock. */
typedef void (*cmos_rtc_clock_fn)(void *opaque, struct timespec *now);

struct cmos_rtc {
	pthread_mutex_t lock;
	cmos_rtc_clock_fn clock;
	void *clock_opaque;
	int64_t offset;		/* guest time minus host time, seconds */
	uint8_t index;		/* selected register, 0..0x7f */
	bool nmi_masked;	/* bit 7 of the last index write */
	bool held;		/* register B SET: the clock reads `held_tm` */
	struct tm held_tm;
	uint8_t ram[CMOS_RTC_NVRAM_SIZE]; /* registers A, B and plain RAM */
};

/*
 * Initialises the RTC in its firmware state (24-hour BCD, 32.768 kHz time
 * base). `clock` may be NULL for CLOCK_REALTIME. Returns 0 or -errno.
 */
must_check int cmos_rtc_init(struct cmos_rtc *rtc, cmos_rtc_clock_fn clock, void *clock_opaque);
void cmos_rtc_destroy(struct cmos_rtc *rtc);

/*
 * Sets a plain CMOS RAM byte before the guest runs (e.g. memory sizes for
 * firmware). Returns 0, or -EINVAL for the clock and status registers
 * (0x00-0x0d, 0x32) or an index beyond 0x7f.
 */
must_check int cmos_rtc_set_nvram(struct cmos_rtc *rtc, unsigned int index, uint8_t val);

/* Bus handlers for the 2-byte range at 0x70; opaque is the cmos_rtc. */
extern const struct bus_ops cmos_rtc_bus_ops;

/* Claims ports 0x70-0x71 on `pio`. Returns 0 or bus_register's -errno. */
must_check int cmos_rtc_register(struct cmos_rtc *rtc, struct bus *pio);

#endif
