/*
 * MC146818A real-time clock and CMOS RAM (see cmos_rtc.h), following the
 * Motorola MC146818A datasheet's register map:
 *
 *   0x00 seconds  0x02 minutes  0x04 hours  0x06 day of week (1 = Sunday)
 *   0x07 day of month  0x08 month  0x09 year (00-99)  0x32 century (PC)
 *   0x01/0x03/0x05 alarms (stored only)
 *   0x0A register A: UIP (bit 7, read-only), divider and rate bits
 *   0x0B register B: SET, PIE, AIE, UIE, SQWE, DM (1 = binary), 24/12, DSE
 *   0x0C register C: interrupt flags (read-only, always 0 here)
 *   0x0D register D: VRT (read-only, always set)
 *
 * The clock is never stored: it is the host's UTC time plus `offset`. While
 * register B's SET bit is 1 the guest edits a frozen copy (`held_tm`), and
 * clearing SET commits it, so Linux's mc146818_set_time, which writes the
 * fields one by one under SET, never sees a half-updated date normalised.
 * The divider bits of register A are stored but do not stop the clock.
 */
#include "devices/legacy/cmos_rtc.h"

#include <errno.h>
#include <string.h>

enum {
	REG_SECONDS = 0x00,
	REG_MINUTES = 0x02,
	REG_HOURS = 0x04,
	REG_WEEKDAY = 0x06,
	REG_DAY = 0x07,
	REG_MONTH = 0x08,
	REG_YEAR = 0x09,
	REG_A = 0x0a,
	REG_B = 0x0b,
	REG_C = 0x0c,
	REG_D = 0x0d,
};

#define A_UIP 0x80
#define B_SET 0x80
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define D_VRT 0x80
#define HOUR_PM 0x80
#define INDEX_NMI_MASK 0x80

/* 32.768 kHz time base, 1.024 kHz periodic rate: what PC firmware sets. */
#define REG_A_DEFAULT 0x26
#define REG_B_DEFAULT B_24H
/* UIP rises 244 us before each update (datasheet, "update cycle"). */
#define UIP_LEAD_NS 244000L

static void realtime_clock(void *opaque, struct timespec *now)
{
	(void)opaque;
	clock_gettime(CLOCK_REALTIME, now);
}

static void read_clock(const struct cmos_rtc *rtc, struct timespec *now)
{
	rtc->clock(rtc->clock_opaque, now);
}

static bool is_clock_reg(unsigned int reg)
{
	return (reg <= REG_YEAR && reg != 0x01 && reg != 0x03 && reg != 0x05) ||
	       reg == CMOS_RTC_CENTURY_REG;
}

/* ---- encoding (callers hold the lock) ---- */

static bool binary_mode(const struct cmos_rtc *rtc)
{
	return rtc->ram[REG_B] & B_DM_BINARY;
}

/* Values outside 0..99 (a guest-written field while SET holds) are clamped. */
static uint8_t encode(const struct cmos_rtc *rtc, int v)
{
	v = v < 0 ? 0 : v > 99 ? 99 : v;
	if (binary_mode(rtc))
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Guest-controlled: v may be any byte, including invalid BCD. */
static int decode(const struct cmos_rtc *rtc, uint8_t v)
{
	if (binary_mode(rtc))
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t encode_hours(const struct cmos_rtc *rtc, int hour)
{
	int h12 = hour % 12 == 0 ? 12 : hour % 12;

	if (rtc->ram[REG_B] & B_24H)
		return encode(rtc, hour);
	return encode(rtc, h12) | (hour >= 12 ? HOUR_PM : 0);
}

static int decode_hours(const struct cmos_rtc *rtc, uint8_t v)
{
	if (rtc->ram[REG_B] & B_24H)
		return decode(rtc, v);
	return decode(rtc, v & (uint8_t)~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

/* ---- the clock (callers hold the lock) ---- */

/* The guest's current broken-down UTC time. */
static void guest_tm(const struct cmos_rtc *rtc, struct tm *tm)
{
	struct timespec now;
	time_t t;

	if (rtc->held) {
		*tm = rtc->held_tm;
		return;
	}
	read_clock(rtc, &now);
	t = (time_t)(now.tv_sec + rtc->offset);
	if (gmtime_r(&t, tm) == NULL)
		memset(tm, 0, sizeof(*tm));
}

/* Makes `tm` the guest's current time. */
static void commit_tm(struct cmos_rtc *rtc, struct tm *tm)
{
	struct timespec now;
	time_t t = timegm(tm);

	read_clock(rtc, &now);
	rtc->offset = (int64_t)t - (int64_t)now.tv_sec;
}

static uint8_t read_clock_reg(const struct cmos_rtc *rtc, unsigned int reg)
{
	struct tm tm;
	int year;

	guest_tm(rtc, &tm);
	year = tm.tm_year + 1900;
	year = year < 0 ? 0 : year > 9999 ? 9999 : year;
	switch (reg) {
	case REG_SECONDS:
		return encode(rtc, tm.tm_sec % 60); /* a leap second reads 59 + 1 */
	case REG_MINUTES:
		return encode(rtc, tm.tm_min);
	case REG_HOURS:
		return encode_hours(rtc, tm.tm_hour);
	case REG_WEEKDAY:
		return encode(rtc, tm.tm_wday + 1);
	case REG_DAY:
		return encode(rtc, tm.tm_mday);
	case REG_MONTH:
		return encode(rtc, tm.tm_mon + 1);
	case REG_YEAR:
		return encode(rtc, year % 100);
	default:
		return encode(rtc, year / 100);
	}
}

/* Guest-controlled: val. Stores one field into `tm`. */
static void set_clock_field(const struct cmos_rtc *rtc, struct tm *tm, unsigned int reg,
			    uint8_t val)
{
	int year = tm->tm_year + 1900;

	switch (reg) {
	case REG_SECONDS:
		tm->tm_sec = decode(rtc, val);
		break;
	case REG_MINUTES:
		tm->tm_min = decode(rtc, val);
		break;
	case REG_HOURS:
		tm->tm_hour = decode_hours(rtc, val);
		break;
	case REG_WEEKDAY:
		tm->tm_wday = decode(rtc, val) - 1; /* derived again on commit */
		break;
	case REG_DAY:
		tm->tm_mday = decode(rtc, val);
		break;
	case REG_MONTH:
		tm->tm_mon = decode(rtc, val) - 1;
		break;
	case REG_YEAR:
		tm->tm_year = (year / 100) * 100 + decode(rtc, val) - 1900;
		break;
	default:
		tm->tm_year = decode(rtc, val) * 100 + year % 100 - 1900;
		break;
	}
}

static void write_clock_reg(struct cmos_rtc *rtc, unsigned int reg, uint8_t val)
{
	struct tm tm;

	guest_tm(rtc, &tm);
	set_clock_field(rtc, &tm, reg, val);
	if (rtc->held)
		rtc->held_tm = tm;
	else
		commit_tm(rtc, &tm);
}

/* ---- status registers (callers hold the lock) ---- */

static uint8_t read_reg_a(const struct cmos_rtc *rtc)
{
	struct timespec now;

	if (rtc->held)
		return rtc->ram[REG_A];
	read_clock(rtc, &now);
	if (now.tv_nsec >= 1000000000L - UIP_LEAD_NS)
		return rtc->ram[REG_A] | A_UIP;
	return rtc->ram[REG_A];
}

static void write_reg_b(struct cmos_rtc *rtc, uint8_t val)
{
	bool set = val & B_SET;

	if (set && !rtc->held) {
		guest_tm(rtc, &rtc->held_tm);
		rtc->held = true;
		val &= (uint8_t)~B_UIE; /* the datasheet: SET clears UIE */
	} else if (!set && rtc->held) {
		rtc->held = false;
		commit_tm(rtc, &rtc->held_tm);
	}
	rtc->ram[REG_B] = val;
}

static uint8_t read_data(struct cmos_rtc *rtc)
{
	unsigned int reg = rtc->index;

	if (is_clock_reg(reg))
		return read_clock_reg(rtc, reg);
	switch (reg) {
	case REG_A:
		return read_reg_a(rtc);
	case REG_C:
		return 0; /* no interrupt flags: no RTC interrupts */
	case REG_D:
		return D_VRT;
	default:
		return rtc->ram[reg];
	}
}

/* Guest-controlled: the selected index and val. */
static void write_data(struct cmos_rtc *rtc, uint8_t val)
{
	unsigned int reg = rtc->index;

	if (is_clock_reg(reg)) {
		write_clock_reg(rtc, reg, val);
		return;
	}
	switch (reg) {
	case REG_A:
		rtc->ram[REG_A] = val & (uint8_t)~A_UIP;
		break;
	case REG_B:
		write_reg_b(rtc, val);
		break;
	case REG_C:
	case REG_D:
		break; /* read-only */
	default:
		rtc->ram[reg] = val;
		break;
	}
}

/* ---- bus handlers: offset 0 = index port, 1 = data port ---- */

static void rtc_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct cmos_rtc *rtc = opaque;
	uint8_t *out = data;

	pthread_mutex_lock(&rtc->lock);
	for (uint32_t i = 0; i < len; i++)
		out[i] = (offset + i) % 2 == 0 ? 0xff /* index is write-only */ : read_data(rtc);
	pthread_mutex_unlock(&rtc->lock);
}

static void rtc_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct cmos_rtc *rtc = opaque;
	const uint8_t *in = data;

	pthread_mutex_lock(&rtc->lock);
	for (uint32_t i = 0; i < len; i++) {
		if ((offset + i) % 2 == 0) {
			rtc->index = in[i] & (CMOS_RTC_NVRAM_SIZE - 1);
			rtc->nmi_masked = in[i] & INDEX_NMI_MASK;
		} else {
			write_data(rtc, in[i]);
		}
	}
	pthread_mutex_unlock(&rtc->lock);
}

const struct bus_ops cmos_rtc_bus_ops = { .read = rtc_read, .write = rtc_write };

int cmos_rtc_init(struct cmos_rtc *rtc, cmos_rtc_clock_fn clock, void *clock_opaque)
{
	int ret;

	memset(rtc, 0, sizeof(*rtc));
	ret = pthread_mutex_init(&rtc->lock, NULL);
	if (ret != 0)
		return -ret;
	rtc->clock = clock ? clock : realtime_clock;
	rtc->clock_opaque = clock_opaque;
	rtc->ram[REG_A] = REG_A_DEFAULT;
	rtc->ram[REG_B] = REG_B_DEFAULT;
	return 0;
}

void cmos_rtc_destroy(struct cmos_rtc *rtc)
{
	pthread_mutex_destroy(&rtc->lock);
}

int cmos_rtc_set_nvram(struct cmos_rtc *rtc, unsigned int index, uint8_t val)
{
	if (index >= CMOS_RTC_NVRAM_SIZE || index <= REG_D || index == CMOS_RTC_CENTURY_REG)
		return -EINVAL;
	pthread_mutex_lock(&rtc->lock);
	rtc->ram[index] = val;
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

int cmos_rtc_register(struct cmos_rtc *rtc, struct bus *pio)
{
	return bus_register(pio, CMOS_RTC_INDEX_PORT, 2, &cmos_rtc_bus_ops, rtc, "cmos-rtc");
}
