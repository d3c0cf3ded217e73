/*
 * The guest kernel command line Cove builds from a finished vm_config, in
 * crosvm's order (arch/src/serial.rs get_serial_cmdline, then --params):
 *
 *   1. console=ttyS<num-1> (UART) / console=hvc<num-1> (virtio-console) for
 *      every serial port with `console`, sorted by hardware (UARTs first)
 *      and then num;
 *   2. earlycon=uart8250,io,0x<port> for the port with `earlycon`
 *      (COM1..COM4 = 0x3f8, 0x2f8, 0x3e8, 0x2e8);
 *   3. root=/dev/vdX ro (or rw) for the --block disk marked `root`, as
 *      crosvm adds it;
 *   4. each --params string in order, spaces at its ends trimmed, empty ones
 *      skipped.
 *
 * Items are separated by single spaces. Unlike crosvm (`panic=-1` first),
 * Cove adds nothing else: the base line is empty.
 */
#ifndef COVE_CONFIG_CMDLINE_H
#define COVE_CONFIG_CMDLINE_H

#include <stddef.h>

#include "base/compiler.h"
#include "config/vm_config.h"

/*
 * Writes the NUL-terminated command line into buf. len counts the NUL: pass
 * the kernel's cmdline_size + 1. cfg must have been through
 * vm_config_finish(). Returns 0, or -E2BIG if it does not fit (buf then
 * holds an empty string when len > 0).
 */
must_check int cmdline_build(const struct vm_config *cfg, char *buf, size_t len);

#endif
