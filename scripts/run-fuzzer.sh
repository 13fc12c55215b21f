#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in their own build dir and fuzzes each: the
# TFRecord/Example parsers (corpus seeded from ../shared/testdata) for FUZZ_SECONDS (default 60),
# then the S3 XML answer parsers (seeded with real answers of Ceph RGW) for FUZZ_XML_SECONDS
# (default half of that), then the operator's parsers of a trainer's /metrics text and eval result,
# of kubeconfig YAML and of watch events (seeded from tests/fuzz/seeds/) for FUZZ_OPERATOR_SECONDS
# each (default half of FUZZ_SECONDS). Exits non-zero on a crash, leak, timeout or sanitizer report; the failing
# input is left in <build>/fuzz-artifacts/.
#
#   FUZZ_SECONDS=300 scripts/run-fuzzer.sh
#   FUZZ_BUILD_DIR=/tmp/fz KUBECNN_TESTDATA_DIR=/data/testdata scripts/run-fuzzer.sh -jobs=2   # extra args go to libFuzzer
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
testdata="${KUBECNN_TESTDATA_DIR:-$root/../shared/testdata}"
seconds="${FUZZ_SECONDS:-60}"
max_len="${FUZZ_MAX_LEN:-65536}"

for tool in clang clang++ cmake; do
  command -v "$tool" >/dev/null || { echo "run-fuzzer: $tool not found (apt-get install clang cmake)" >&2; exit 2; }
done

# Only the fuzz targets: no trainer (so no LibTorch), operator or benchmarks.
CC=clang CXX=clang++ cmake -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKUBECNN_BUILD_FUZZERS=ON \
  -DKUBECNN_BUILD_TRAINER=OFF \
  -DKUBECNN_BUILD_OPERATOR=OFF \
  -DKUBECNN_BUILD_BENCH=OFF \
  -DKUBECNN_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j2 --target tfrecord_example_fuzzer s3_xml_fuzzer prometheus_text_fuzzer kubeconfig_fuzzer \
  watch_event_fuzzer

fuzzer="$build/tests/fuzz/tfrecord_example_fuzzer"
corpus="$build/fuzz-corpus/tfrecord_example"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"

# Seeds: the start of every TFRecord and TensorBoard event file (whole small records, cut large ones).
seeded=0
if [[ -d "$testdata" ]]; then
  while IFS= read -r -d '' file; do
    name="seed-$(printf '%s' "${file#"$testdata"/}" | tr '/' '_')"
    [[ -e "$corpus/$name" ]] || head -c "$max_len" "$file" >"$corpus/$name"
    seeded=$((seeded + 1))
  done < <(find "$testdata"/tfrecord-* "$testdata"/tfevents-* -type f ! -name '*.txt' -print0 2>/dev/null)
fi
echo "run-fuzzer: $seeded seed files from $testdata; corpus $corpus; ${seconds}s" >&2

"$fuzzer" "$corpus" \
  -max_total_time="$seconds" \
  -max_len="$max_len" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" \
  -print_final_stats=1 \
  "$@"

xml_corpus="$build/fuzz-corpus/s3_xml"
mkdir -p "$xml_corpus"
# Answers as radosgw sends them (a listing page, an error, a multipart upload's id).
printf '%s' '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix>a/</Prefix><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a/b.txt</Key><LastModified>2026-12-04T05:15:54.597Z</LastModified><ETag>&quot;5d41402abc4b2a76b9719d911017c592&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass><Type>Normal</Type></Contents><CommonPrefixes><Prefix>a/c/</Prefix></CommonPrefixes><NextContinuationToken>a/b.txt</NextContinuationToken><KeyCount>1</KeyCount></ListBucketResult>' >"$xml_corpus/seed-list"
printf '%s' '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message></Message><BucketName>bkt</BucketName><RequestId>tx0</RequestId><HostId>1011-default-default</HostId></Error>' >"$xml_corpus/seed-error"
printf '%s' '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bkt</Bucket><Key>k</Key><UploadId>2~abc</UploadId></InitiateMultipartUploadResult>' >"$xml_corpus/seed-upload"
"$build/tests/fuzz/s3_xml_fuzzer" "$xml_corpus" \
  -max_total_time="${FUZZ_XML_SECONDS:-$((seconds / 2))}" \
  -max_len=8192 \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -artifact_prefix="$artifacts/" \
  -print_final_stats=1

# The operator's parsers: what a trainer pod answers on /metrics (and its launcher's eval result),
# kubeconfig YAML, and a line of a watch stream. Seeds are checked in, with every input a fuzzer
# once found.
for target in prometheus_text kubeconfig watch_event; do
  corpus="$build/fuzz-corpus/$target"
  mkdir -p "$corpus"
  cp -n "$root/tests/fuzz/seeds/$target"/* "$corpus"/
  "$build/tests/fuzz/${target}_fuzzer" "$corpus" \
    -max_total_time="${FUZZ_OPERATOR_SECONDS:-$((seconds / 2))}" \
    -max_len=16384 \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1
done
