#!/usr/bin/env bash
# Object storage against local files, same shards, same run: starts a Ceph object gateway
# (scripts/ceph-rgw.sh), writes ImageNet-style shards of the testdata photos to a local folder and
# the same shards into a bucket with `kubecnn-trainer make-shards --output_dir=s3://...`, then runs
# storage_bench: pipeline images/s (whole-epoch permutation and shard order), raw read MiB/s and a
# ResNet-50-sized checkpoint's save/restore, local vs S3, with the ratios and the CPU seconds the
# S3 server (radosgw + osd + mon) itself used.
#
# Usage: bench/run_storage_bench.sh [seconds_per_config] [threads] [rounds]
# Environment: BUILD_DIR (default build: needs storage_bench and kubecnn-trainer), COPIES (how many
# times the 250 photos are repeated into the shards, default 8: ~216 MB).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-10}
threads=${2:-1}
rounds=${3:-3}
build=${BUILD_DIR:-$root/build}
copies=${COPIES:-8}
photos=$root/../shared/testdata/jpeg-imagenet-samples
bench=$build/bench/storage_bench
trainer=$build/trainer/kubecnn-trainer
for f in "$bench" "$trainer"; do
  [ -x "$f" ] || { echo "run_storage_bench: $f is not built (bash scripts/build.sh)" >&2; exit 1; }
done
[ -d "$photos" ] || { echo "run_storage_bench: no photos at $photos" >&2; exit 1; }

work=$(mktemp -d /tmp/kubecnn-storage-bench.XXXXXX)
ceph_dir=$work/ceph
cleanup() { bash "$root/scripts/ceph-rgw.sh" stop "$ceph_dir" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

# An image folder of `copies` x 250 photos in 50 classes.
mkdir -p "$work/images"
i=0
for photo in "$photos"/*.JPEG; do
  class=$(printf 'c%02d' $((i % 50)))
  mkdir -p "$work/images/$class"
  for ((c = 0; c < copies; c++)); do ln -s "$photo" "$work/images/$class/$c-$(basename "$photo")"; done
  i=$((i + 1))
done

eval "$(bash "$root/scripts/ceph-rgw.sh" start "$ceph_dir")"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_ENDPOINT_URL_S3=$S3_ENDPOINT
curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
  -H x-amz-content-sha256:UNSIGNED-PAYLOAD -X PUT "$S3_ENDPOINT/bench" >/dev/null

# The same conversion twice (same seed: same bytes); make-shards writes the .idx files too.
"$trainer" make-shards --input_dir="$work/images" --train_shards=16 --output_dir="$work/shards" >/dev/null
"$trainer" make-shards --input_dir="$work/images" --train_shards=16 --output_dir=s3://bench/shards >/dev/null
echo "shards: $(du -sh "$work/shards" | cut -f1) in 16 train shards, local and s3://bench/shards ($S3_ENDPOINT)"

cpu_of() {  # user+system seconds of the Ceph daemons so far
  local total=0 pid
  for pid in $CEPH_PIDS; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total $(getconf CLK_TCK)" | awk '{printf "%.1f", $1 / $2}'
}
# On a small machine the server would take the pipeline's cores: with PIN_CPUS (default on when the
# machine has 2 or more CPUs) Ceph runs on the last CPU and the benchmark on the others, so both
# sides' figures are the client's alone, as with a store on other machines.
bench_cmd=("$bench" "$work/shards" s3://bench/shards "$seconds" "$threads" 98 "$rounds")
ncpu=$(nproc)
if [ "${PIN_CPUS:-1}" = 1 ] && [ "$ncpu" -ge 2 ]; then
  for pid in $CEPH_PIDS; do taskset -a -p -c $((ncpu - 1)) "$pid" >/dev/null; done
  bench_cmd=(taskset -c "0-$((ncpu - 2))" "${bench_cmd[@]}")
  echo "pinned: Ceph on CPU $((ncpu - 1)), the benchmark on CPU 0-$((ncpu - 2))"
fi
cpu_before=$(cpu_of)
start=$(date +%s.%N)
out=$("${bench_cmd[@]}")
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
cpu_after=$(cpu_of)
echo "$out" | grep -v '^RESULT' || true
echo
echo "$out" | awk '$1 == "RESULT" {
  ratio = ($5 == "seconds") ? $3 / $4 : $4 / $3
  printf "%-22s local %9.1f   s3 %9.1f %-9s  s3/local %.2fx%s\n", $2, $3, $4, $5, ratio,
         ($5 == "seconds") ? " (speed)" : ""
}'
echo "$cpu_before $cpu_after $elapsed $(nproc)" | awk '{
  printf "Ceph (radosgw + osd + mon) used %.1f CPU seconds over the %.0f s run (%.0f%% of one core; this machine has %d)\n",
         $2 - $1, $3, 100 * ($2 - $1) / $3, $4 }'
