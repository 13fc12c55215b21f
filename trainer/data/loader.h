// The input pipeline's engine: reads this rank's records, decodes and augments them on a thread
// pool, and keeps a bounded number of batches ready, in a deterministic order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "trainer/data/batch.h"
#include "trainer/data/epoch_plan.h"
#include "trainer/data/image_example.h"
#include "trainer/data/image_transform.h"
#include "trainer/data/loader_counters.h"
#include "trainer/storage/read_ahead.h"

namespace kubecnn::data {

struct LoaderOptions {
  std::string data_dir;         // empty: synthetic data
  std::string split = "train";  // shard prefix: train, validation
  bool train = true;            // train: endless shuffled stream; eval: one pass in file order, tail kept
  int64_t batch_size = 32;
  TransformOptions transform;  // transform.train is set from `train`
  int num_threads = 4;
  int prefetch_batches = 3;  // batches being filled + ready; bounds memory
  uint64_t seed = 0;
  int rank = 0;
  int world = 1;
  int64_t shuffle_buffer = 0;  // 0: a whole-epoch permutation; N: shard order + N-record buffer (epoch_plan.h)
  bool skip_corrupt_records = false;
  int64_t label_offset = 1;  // ImageNet's build scripts write 1-based labels
  int64_t num_classes = 0;   // > 0: labels are checked against it (and used for synthetic data)
  ExampleSchema schema;
  int64_t start_position = 0;  // samples of this rank's stream already consumed (resume)
  // Shards in an object store are read ahead of the plan: at most this many MiB held, over this
  // many connections (local files are read where they lie; the page cache reads ahead).
  int64_t read_ahead_mb = 256;
  int read_connections = 64;
  HostAllocator pixel_allocator = HeapAllocate;  // pinned memory on CUDA (see device_batch.h)
};

class RecordFile;

class Loader {
 public:
  // Finds and indexes the shards (throws DataError with what is wrong) and starts the workers.
  explicit Loader(LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch, in stream order. nullptr once an eval pass is complete. Rethrows the first
  // fatal error a worker hit (e.g. a CRC mismatch without --skip_corrupt_records).
  BatchPtr Next();

  int64_t total_records() const { return total_records_; }          // all ranks, one epoch
  int64_t records_per_epoch() const { return records_per_epoch_; }  // this rank
  int64_t num_shards() const { return static_cast<int64_t>(shard_paths_.size()); }
  bool synthetic() const { return options_.data_dir.empty(); }
  const LoaderCounters& counters() const { return counters_; }
  int64_t ready_batches() const { return counters_.ready_batches.load(); }  // prepared, waiting for Next()
  const LoaderOptions& options() const { return options_; }

 private:
  struct Pending;  // a batch being filled

  void Index();
  void WorkerLoop();
  // Under mu_: claims the next sample to process, starting a batch when allowed.
  bool ClaimLocked(std::shared_ptr<Pending>* batch, int64_t* slot);
  std::shared_ptr<Pending> StartBatchLocked();
  void ProcessSample(Pending& batch, int64_t slot);
  bool LoadSample(const RecordRef& ref, int64_t position, uint8_t* out, int64_t* label);
  void FinishLocked();
  const RecordFile& File(int32_t shard);
  // The epoch's plan; the two latest are kept, since read-ahead runs into the next epoch.
  std::shared_ptr<const std::vector<RecordRef>> PlanFor(int64_t epoch);
  // Where position p of this rank's stream lies (read-ahead's view of the plan).
  std::optional<storage::Extent> ExtentAt(int64_t position);
  void StartReadAhead();
  std::shared_ptr<Batch> TakeBufferLocked();

  LoaderOptions options_;
  std::vector<std::string> shard_paths_;
  std::vector<std::vector<uint64_t>> shard_offsets_;
  std::vector<uint64_t> shard_sizes_;  // remote shards only: where each one's last record ends
  int64_t total_records_ = 0;
  int64_t records_per_epoch_ = 0;
  LoaderCounters counters_;

  std::mutex files_mu_;
  std::vector<std::unique_ptr<RecordFile>> files_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // workers: a slot or a batch may be available
  std::condition_variable ready_cv_;  // consumer: a batch is ready, or an error
  bool stop_ = false;
  std::exception_ptr error_;
  int64_t next_position_ = 0;  // next sample of the stream to assign
  int64_t next_sequence_ = 0;
  std::mutex plans_mu_;
  std::deque<std::pair<int64_t, std::shared_ptr<const std::vector<RecordRef>>>> plans_;  // newest last
  std::unique_ptr<storage::ReadAhead> read_ahead_;                                       // remote shards only
  std::deque<std::shared_ptr<Pending>> filling_;                                         // in stream order
  std::deque<BatchPtr> ready_;
  std::shared_ptr<struct BufferPool> pool_;
  BatchPtr synthetic_batch_;
  std::vector<std::thread> workers_;
};

}  // namespace kubecnn::data
