/* virtio-balloon memory statistics (virtio 1.x 5.5.6.3); see virtio_balloon_stats.h. */
#include "devices/virtio_balloon/virtio_balloon_stats.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "base/compiler.h"

/* Tags 0-9 from linux/virtio_balloon.h, 10-15 from newer Linux drivers. */
static const char *const names[VIRTIO_BALLOON_STATS_TAGS] = {
	"swap_in",	   "swap_out",		  "major_faults",	 "minor_faults",
	"free_memory",	   "total_memory",	  "available_memory",	 "disk_caches",
	"hugetlb_allocations", "hugetlb_failures", "oom_kills",		 "alloc_stalls",
	"async_scans",	   "direct_scans",	  "async_reclaims",	 "direct_reclaims",
};

int virtio_balloon_stats_parse(const uint8_t *buf, size_t len, struct virtio_balloon_stats *out)
{
	size_t n = len / VIRTIO_BALLOON_STAT_SIZE;
	int count = 0;

	memset(out, 0, sizeof(*out));
	if (n > VIRTIO_BALLOON_STATS_MAX_ENTRIES)
		n = VIRTIO_BALLOON_STATS_MAX_ENTRIES;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = buf + i * VIRTIO_BALLOON_STAT_SIZE;
		uint16_t tag;
		uint64_t val;

		/* Packed and unaligned: copy the fields out. */
		memcpy(&tag, e, sizeof(tag));
		memcpy(&val, e + sizeof(tag), sizeof(val));
		tag = le16toh(tag);
		count++;
		if (tag >= VIRTIO_BALLOON_STATS_TAGS)
			continue;
		out->valid[tag] = true;
		out->val[tag] = le64toh(val);
	}
	return len % VIRTIO_BALLOON_STAT_SIZE ? -EINVAL : count;
}

const char *virtio_balloon_stats_name(unsigned int tag)
{
	return tag < ARRAY_SIZE(names) ? names[tag] : NULL;
}
