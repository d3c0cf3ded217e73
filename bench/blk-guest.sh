#!/bin/sh
# bench/blk-guest.sh: the fio jobs of the virtio-blk benchmark, run by the
# same rules in the level-2 guest (as /bench/blk-guest.sh, see
# bench/mkfioinitramfs) and in level 1 on the image file (the physical limit).
#
#   blk-guest.sh TARGET RUNTIME RAMP SPEC...
#
#   TARGET   the disk or file (the guest: /dev/vda)
#   RUNTIME  seconds measured per job; RAMP: seconds before, not measured
#   SPEC     NAME:RW:BS:QD:JOBS, e.g. randread:randread:4k:32:2
#
# Every job: direct=1 (no page cache in the guest), ioengine=libaio, threads
# (no shared-memory setup needed), time_based, group_reporting. For each
# SPEC prints one line
#   BLK-FIO NAME;ERR;READ_KB;READ_KIB_S;READ_IOPS;READ_RUNTIME_MS;READ_LAT_MEAN_US;
#           WRITE_KB;WRITE_KIB_S;WRITE_IOPS;WRITE_RUNTIME_MS;WRITE_LAT_MEAN_US
# (fields 5-9, 40, 47-50 and 81 of fio's terse format 3), or
#   BLK-ERROR NAME fio exited with N
# followed by the last lines fio wrote on stderr. Exits 1 if any job failed.
# Only busybox is needed besides fio; the console is slow under nested
# emulation, so nothing else is printed.

target=$1 runtime=$2 ramp=$3
shift 3
status=0
[ -e "$target" ] || { echo "BLK-ERROR all no $target"; exit 1; }
for spec in "$@"; do
	old_ifs=$IFS
	IFS=:
	# shellcheck disable=SC2086 # splitting on ':' is the point
	set -- $spec
	IFS=$old_ifs
	name=$1 rw=$2 bs=$3 qd=$4 jobs=$5
	if fio --name="$name" --filename="$target" --rw="$rw" --bs="$bs" --iodepth="$qd" \
		--numjobs="$jobs" --direct=1 --ioengine=libaio --thread --time_based \
		--runtime="$runtime" --ramp_time="$ramp" --group_reporting \
		--output-format=terse --terse-version=3 >/tmp/fio.out 2>/tmp/fio.err; then
		printf 'BLK-FIO %s;' "$name"
		cut -d';' -f5-9,40,47-50,81 /tmp/fio.out | head -n 1
	else
		echo "BLK-ERROR $name fio exited with $?"
		tail -n 5 /tmp/fio.err
		status=1
	fi
done
exit $status
