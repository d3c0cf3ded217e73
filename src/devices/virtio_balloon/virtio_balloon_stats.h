/*
 * The memory statistics a virtio-balloon driver sends on its stats queue
 * (virtio 1.x section 5.5.6.3 "Memory Statistics"): a buffer of packed
 * 10-byte entries {le16 tag; le64 val}. This module only parses (bytes in,
 * struct out, no I/O), so that unit tests and the fuzzer drive it.
 *
 * Tags 0-9 are the spec's (linux/virtio_balloon.h); newer Linux drivers also
 * send 10-15 (OOM kills, allocation stalls, scans and reclaims), which are
 * kept too. Unknown tags are skipped, as the spec requires.
 */
#ifndef COVE_DEVICES_VIRTIO_BALLOON_VIRTIO_BALLOON_STATS_H
#define COVE_DEVICES_VIRTIO_BALLOON_VIRTIO_BALLOON_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_BALLOON_STATS_TAGS 16 /* tags 0..15 are kept */
#define VIRTIO_BALLOON_STAT_SIZE 10  /* le16 tag + le64 val, packed */
/* Most entries parsed from one buffer; a driver sends one per tag. */
#define VIRTIO_BALLOON_STATS_MAX_ENTRIES 64

struct virtio_balloon_stats {
	bool valid[VIRTIO_BALLOON_STATS_TAGS]; /* the driver reported this tag */
	uint64_t val[VIRTIO_BALLOON_STATS_TAGS];
};

/*
 * Guest-controlled: buf. Parses the whole entries of buf[0..len) (at most
 * VIRTIO_BALLOON_STATS_MAX_ENTRIES) into *out, which is cleared first; the
 * last entry of a repeated tag wins. Returns the number of entries read,
 * or -EINVAL if len is not a whole number of entries (the whole entries
 * are still parsed).
 */
int virtio_balloon_stats_parse(const uint8_t *buf, size_t len, struct virtio_balloon_stats *out);

/*
 * The name of tag `tag` in Cove's control protocol (crosvm's spelling for
 * tags 0-9: "swap_in", "free_memory", ...), or NULL for tags it does not
 * keep.
 */
const char *virtio_balloon_stats_name(unsigned int tag);

#endif
