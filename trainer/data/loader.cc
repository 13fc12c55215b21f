// Loader: shard indexing, a worker pool filling batches slot by slot, in-order publication.
#include "trainer/data/loader.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "trainer/common/log.h"
#include "trainer/common/random.h"
#include "trainer/data/data_error.h"
#include "trainer/data/dataset_files.h"
#include "trainer/data/record_index.h"
#include "trainer/data/synthetic.h"
#include "trainer/data/tfrecord_reader.h"

namespace kubecnn::data {
namespace {

constexpr uint64_t kSampleStream = 0x53414d504c45ULL;  // "SAMPLE"

// Log the first few of a kind of problem, then every 1000th, so a bad shard can't flood the log.
bool ShouldLog(int64_t count) { return count <= 10 || count % 1000 == 0; }

void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

struct BufferPool {
  std::mutex mu;
  std::vector<std::unique_ptr<Batch>> free;
};

struct Loader::Pending {
  std::shared_ptr<Batch> batch;
  std::vector<RecordRef> refs;
  std::vector<uint8_t> valid;
  int64_t first_position = 0;
  int64_t next_slot = 0;
  int64_t done = 0;
  int64_t count() const { return static_cast<int64_t>(refs.size()); }
};

Loader::Loader(LoaderOptions options) : options_(std::move(options)), pool_(std::make_shared<BufferPool>()) {
  options_.transform.train = options_.train;
  if (options_.batch_size <= 0)
    throw DataError("batch size must be positive, got " + std::to_string(options_.batch_size));
  if (options_.num_threads <= 0) throw DataError("--num_data_threads must be at least 1");
  options_.prefetch_batches = std::max(options_.prefetch_batches, 1);
  next_position_ = options_.start_position;

  if (synthetic()) {
    auto batch = std::make_shared<Batch>(MakeSyntheticBatch(
        options_.batch_size, options_.transform.output_size, options_.num_classes > 0 ? options_.num_classes : 1000,
        DeriveSeed(options_.seed, static_cast<uint64_t>(options_.rank))));
    synthetic_batch_ = std::move(batch);
    return;
  }
  RaiseOpenFileLimit();
  Index();
  StartReadAhead();
  workers_.reserve(static_cast<size_t>(options_.num_threads));
  for (int i = 0; i < options_.num_threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (read_ahead_) read_ahead_->Stop();  // wakes workers waiting in Take()
  for (auto& t : workers_) t.join();
}

void Loader::StartReadAhead() {
  if (!storage::StorageFor(options_.data_dir).remote()) return;
  std::vector<const storage::ReadableObject*> objects;
  for (size_t i = 0; i < shard_paths_.size(); ++i) {
    objects.push_back(&File(static_cast<int32_t>(i)).object());
    shard_sizes_.push_back(objects.back()->size());
  }
  storage::ReadAheadOptions read_ahead;
  read_ahead.budget_bytes = static_cast<uint64_t>(std::max<int64_t>(options_.read_ahead_mb, 1)) << 20;
  read_ahead.connections = std::max(options_.read_connections, 1);
  read_ahead.max_range_bytes = std::min<uint64_t>(read_ahead.max_range_bytes, read_ahead.budget_bytes / 4 + 1);
  read_ahead_ = std::make_unique<storage::ReadAhead>(
      std::move(objects), [this](int64_t position) { return ExtentAt(position); }, options_.start_position, read_ahead);
  LogInfo("loader", "reading " + options_.data_dir + " ahead: " + std::to_string(options_.read_ahead_mb) +
                        " MiB over " + std::to_string(read_ahead.connections) + " connections");
}

std::optional<storage::Extent> Loader::ExtentAt(int64_t position) {
  const int64_t epoch = position / records_per_epoch_;
  if (!options_.train && epoch > 0) return std::nullopt;
  const RecordRef ref = (*PlanFor(epoch))[static_cast<size_t>(position % records_per_epoch_)];
  const auto& offsets = shard_offsets_[static_cast<size_t>(ref.shard)];
  const size_t record = static_cast<size_t>(ref.record);
  const uint64_t begin = offsets[record];
  const uint64_t end = record + 1 < offsets.size() ? offsets[record + 1] : shard_sizes_[static_cast<size_t>(ref.shard)];
  return storage::Extent{ref.shard, begin, end - begin};
}

void Loader::Index() {
  const auto start = std::chrono::steady_clock::now();
  shard_paths_ = FindShards(options_.data_dir, options_.split);
  const size_t n = shard_paths_.size();
  std::vector<ShardIndex> indexes(n);
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      try {
        indexes[i] = IndexShard(shard_paths_[i], options_.skip_corrupt_records);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::min<int>(options_.num_threads, static_cast<int>(n)); ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);

  int64_t from_idx = 0, corrupt = 0;
  for (ShardIndex& index : indexes) {
    if (!index.idx_ignored_reason.empty())
      LogWarning("loader", "ignoring " + index.idx_ignored_reason + "; re-scanned the shard");
    from_idx += index.from_idx_file;
    corrupt += index.corrupt_records;
    total_records_ += index.size();
    shard_offsets_.push_back(std::move(index.offsets));
  }
  counters_.corrupt_records += corrupt;
  const RankRange range = RangeForRank(total_records_, options_.rank, options_.world);
  records_per_epoch_ = range.count;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  LogInfo(
      "loader",
      options_.split + ": " + std::to_string(n) + " shards, " + std::to_string(total_records_) + " records (" +
          std::to_string(records_per_epoch_) + " for rank " + std::to_string(options_.rank) + " of " +
          std::to_string(options_.world) + "), indexed in " + std::to_string(seconds) + " s" +
          (from_idx < static_cast<int64_t>(n) ? "; " + std::to_string(n - from_idx) +
                                                    " shards had no .idx file (`kubecnn-trainer index DIR` writes them)"
                                              : ""));
  if (corrupt > 0) LogWarning("loader", "skipped " + std::to_string(corrupt) + " corrupt records while indexing");
  if (records_per_epoch_ == 0) {
    throw DataError("--data_dir " + options_.data_dir + ": " + std::to_string(total_records_) + " " + options_.split +
                    " records cannot feed rank " + std::to_string(options_.rank) + " of " +
                    std::to_string(options_.world) + " (use fewer ranks or more data)");
  }
}

const RecordFile& Loader::File(int32_t shard) {
  std::lock_guard<std::mutex> lock(files_mu_);
  if (files_.empty()) files_.resize(shard_paths_.size());
  if (!files_[shard]) files_[shard] = std::make_unique<RecordFile>(shard_paths_[shard]);
  return *files_[shard];
}

std::shared_ptr<const std::vector<RecordRef>> Loader::PlanFor(int64_t epoch) {
  std::lock_guard<std::mutex> lock(plans_mu_);
  for (const auto& [planned, plan] : plans_) {
    if (planned == epoch) return plan;
  }
  std::vector<int64_t> sizes;
  for (const auto& offsets : shard_offsets_) sizes.push_back(static_cast<int64_t>(offsets.size()));
  EpochPlanOptions options{options_.seed,  epoch,          options_.rank,
                           options_.world, options_.train, options_.shuffle_buffer};
  auto plan = std::make_shared<const std::vector<RecordRef>>(PlanEpoch(sizes, options));
  plans_.emplace_back(epoch, plan);
  if (plans_.size() > 2) plans_.pop_front();
  return plan;
}

std::shared_ptr<Batch> Loader::TakeBufferLocked() {
  std::unique_ptr<Batch> batch;
  {
    std::lock_guard<std::mutex> lock(pool_->mu);
    if (!pool_->free.empty()) {
      batch = std::move(pool_->free.back());
      pool_->free.pop_back();
    }
  }
  if (!batch) {
    batch = std::make_unique<Batch>();
    batch->images = HostBuffer(options_.pixel_allocator);
  }
  batch->image_size = options_.transform.output_size;
  batch->labels.resize(static_cast<size_t>(options_.batch_size));
  batch->images.resize(static_cast<size_t>(options_.batch_size) * batch->image_bytes());
  // The deleter hands the buffers back to the pool (if the loader still exists).
  std::weak_ptr<BufferPool> pool = pool_;
  return std::shared_ptr<Batch>(batch.release(), [pool](Batch* b) {
    if (auto p = pool.lock()) {
      std::lock_guard<std::mutex> lock(p->mu);
      p->free.emplace_back(b);
    } else {
      delete b;
    }
  });
}

std::shared_ptr<Loader::Pending> Loader::StartBatchLocked() {
  const bool exhausted = !options_.train && next_position_ >= records_per_epoch_;
  const size_t in_use = filling_.size() + ready_.size();
  if (exhausted || in_use >= static_cast<size_t>(options_.prefetch_batches)) return nullptr;
  auto pending = std::make_shared<Pending>();
  const int64_t count =
      options_.train ? options_.batch_size : std::min(options_.batch_size, records_per_epoch_ - next_position_);
  pending->first_position = next_position_;
  pending->refs.reserve(static_cast<size_t>(count));
  std::shared_ptr<const std::vector<RecordRef>> plan;
  for (int64_t i = 0; i < count; ++i, ++next_position_) {
    const int64_t epoch = next_position_ / records_per_epoch_;
    if (i == 0 || next_position_ % records_per_epoch_ == 0) plan = PlanFor(epoch);
    pending->refs.push_back((*plan)[static_cast<size_t>(next_position_ % records_per_epoch_)]);
  }
  pending->valid.assign(static_cast<size_t>(count), 0);
  pending->batch = TakeBufferLocked();
  pending->batch->sequence = next_sequence_++;
  pending->batch->end_position = next_position_;
  filling_.push_back(pending);
  return pending;
}

bool Loader::ClaimLocked(std::shared_ptr<Pending>* batch, int64_t* slot) {
  for (const auto& pending : filling_) {
    if (pending->next_slot < pending->count()) {
      *batch = pending;
      *slot = pending->next_slot++;
      return true;
    }
  }
  if (auto pending = StartBatchLocked()) {
    *batch = pending;
    *slot = pending->next_slot++;
    return true;
  }
  return false;
}

void Loader::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    std::shared_ptr<Pending> batch;
    int64_t slot = 0;
    work_cv_.wait(lock, [&] { return stop_ || ClaimLocked(&batch, &slot); });
    if (stop_) return;
    lock.unlock();
    bool ok = false;
    try {
      int64_t label = 0;
      ok = LoadSample(batch->refs[slot], batch->first_position + slot, batch->batch->image(slot), &label);
      batch->batch->labels[slot] = label;
    } catch (...) {
      lock.lock();
      if (!error_) error_ = std::current_exception();
      stop_ = true;
      ready_cv_.notify_all();
      work_cv_.notify_all();
      return;
    }
    lock.lock();
    batch->valid[slot] = ok;
    ++batch->done;
    FinishLocked();
  }
}

bool Loader::LoadSample(const RecordRef& ref, int64_t position, uint8_t* out, int64_t* label) {
  const RecordFile& file = File(ref.shard);
  const uint64_t offset = shard_offsets_[ref.shard][static_cast<size_t>(ref.record)];
  thread_local std::string record;
  RecordRead read;
  if (read_ahead_) {
    const auto asked = std::chrono::steady_clock::now();
    const storage::ExtentBytes bytes = read_ahead_->Take(position);
    counters_.storage_wait_nanos +=
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - asked).count();
    read.status = ParseFramedRecord(bytes.bytes, &record);
  } else {
    read = ReadRecordAt(file, offset, &record);
  }
  if (read.status == RecordStatus::kEndOfFile)
    read.status = RecordStatus::kTruncated;  // the index said a record is here
  if (read.status != RecordStatus::kOk) {
    const std::string message = CorruptRecordMessage(file.path(), offset, read.status);
    if (!options_.skip_corrupt_records) throw DataError(message);
    if (ShouldLog(++counters_.corrupt_records)) LogWarning("loader", "skipping: " + message);
    return false;
  }
  ++counters_.records_read;
  counters_.bytes_read += static_cast<int64_t>(record.size());

  ImageExample example;
  try {
    example = ParseImageExample(record, {file.path(), ref.record}, options_.schema);
  } catch (const DataError& e) {
    if (!options_.skip_corrupt_records) throw;
    if (ShouldLog(++counters_.corrupt_records)) LogWarning("loader", std::string("skipping: ") + e.what());
    return false;
  }
  *label = example.label - options_.label_offset;
  if (options_.num_classes > 0 && (*label < 0 || *label >= options_.num_classes)) {
    throw DataError(
        "record " + std::to_string(ref.record) + " of " + file.path() + ": label " + std::to_string(example.label) +
        " minus --label_offset=" + std::to_string(options_.label_offset) + " is outside [0, " +
        std::to_string(options_.num_classes) +
        ") (check --label_offset: ImageNet build scripts write 1-based labels, TF-slim 0-based; and --num_classes)");
  }
  const uint64_t seed =
      DeriveSeed(DeriveSeed(DeriveSeed(options_.seed, kSampleStream), static_cast<uint64_t>(options_.rank)),
                 static_cast<uint64_t>(position));
  const auto* bytes = reinterpret_cast<const uint8_t*>(example.encoded.data());
  const TransformResult result =
      DecodeAndTransform({bytes, example.encoded.size()}, example.boxes, options_.transform, seed, out);
  if (result.status != TransformStatus::kOk) {
    if (ShouldLog(++counters_.undecodable_images)) {
      LogWarning("loader", "skipping undecodable image in record " + std::to_string(ref.record) + " of " + file.path() +
                               ": " + result.error + " (" + std::to_string(counters_.undecodable_images.load()) +
                               " so far)");
    }
    return false;
  }
  return true;
}

void Loader::FinishLocked() {
  bool published = false, dropped = false;
  while (!filling_.empty() && filling_.front()->done == filling_.front()->count()) {
    std::shared_ptr<Pending> pending = std::move(filling_.front());
    filling_.pop_front();
    Batch& batch = *pending->batch;
    // Compact: skipped samples leave no holes.
    int64_t size = 0;
    for (int64_t i = 0; i < pending->count(); ++i) {
      if (!pending->valid[i]) continue;
      if (size != i) {
        std::memcpy(batch.image(size), batch.image(i), batch.image_bytes());
        batch.labels[size] = batch.labels[i];
      }
      ++size;
    }
    batch.size = size;
    if (size > 0) {
      ready_.push_back(std::move(pending->batch));
      counters_.ready_batches.store(static_cast<int64_t>(ready_.size()));
      published = true;
    } else {
      dropped = true;  // every sample skipped: nothing to hand over
    }
  }
  // Published batches still hold their prefetch slot until Next() takes them; a dropped one frees it.
  if (dropped) work_cv_.notify_all();
  const bool drained = !options_.train && next_position_ >= records_per_epoch_ && filling_.empty();
  if (published || drained) ready_cv_.notify_all();
}

BatchPtr Loader::Next() {
  if (synthetic_batch_) return synthetic_batch_;
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  const auto drained = [&] { return !options_.train && next_position_ >= records_per_epoch_ && filling_.empty(); };
  ready_cv_.wait(lock, [&] { return error_ || !ready_.empty() || drained(); });
  counters_.wait_nanos +=
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  if (error_) std::rethrow_exception(error_);
  if (ready_.empty()) return nullptr;
  BatchPtr batch = std::move(ready_.front());
  ready_.pop_front();
  counters_.ready_batches.store(static_cast<int64_t>(ready_.size()));
  lock.unlock();
  work_cv_.notify_all();
  return batch;
}

}  // namespace kubecnn::data
