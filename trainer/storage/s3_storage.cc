// S3Storage: listing, ranged and block reads, multipart writes, whole-object appendables.
#include "trainer/storage/s3_storage.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <stdexcept>

#include "trainer/common/log.h"
#include "trainer/storage/s3_xml.h"
#include "trainer/storage/storage_path.h"

namespace kubecnn::storage {
namespace {

S3Location Locate(const std::string& path) {
  std::string error;
  auto location = ParseS3Url(path, &error);
  if (!location) throw StorageError(path + ": " + error);
  return *location;
}

std::optional<uint64_t> HeadSize(S3Client& client, const S3Location& at) {
  auto head = S3Request::To("HEAD", at.bucket, at.key);
  const S3Response response = client.Perform(head, /*allow_not_found=*/true);
  if (response.status == 404) return std::nullopt;
  if (!response.content_length) {
    throw TransientError("HEAD " + S3Client::Url(at.bucket, at.key) + ": the answer had no Content-Length");
  }
  return response.content_length;
}

// Ranged GET into `out`; false when the object is shorter than offset + n.
bool GetRange(S3Client& client, const S3Location& at, uint64_t size, uint64_t offset, char* out, uint64_t n) {
  if (n == 0) return offset <= size;
  if (offset > size || size - offset < n) return false;
  auto get = S3Request::To("GET", at.bucket, at.key);
  get.range_offset = offset;
  get.range_length = n;
  get.sink = out;
  client.Perform(get);
  return true;
}

class S3Object : public ReadableObject {
 public:
  S3Object(S3Client& client, std::string path, S3Location at, uint64_t size, Access access, uint64_t block)
      : client_(client),
        path_(std::move(path)),
        at_(std::move(at)),
        size_(size),
        block_bytes_(access == Access::kSequential ? block : 0) {}

  const std::string& path() const override { return path_; }
  uint64_t size() const override { return size_; }

  // Random reads (the read-ahead's ranges) go through the client's transfer thread.
  bool reads_async() const override { return block_bytes_ == 0; }
  bool ReadAtAsync(uint64_t offset, char* buffer, uint64_t n, ReadDone done) const override {
    if (n == 0) throw std::invalid_argument(path_ + ": an asynchronous read of 0 bytes");
    if (offset > size_ || size_ - offset < n) return false;
    auto get = S3Request::To("GET", at_.bucket, at_.key);
    get.range_offset = offset;
    get.range_length = n;
    get.sink = buffer;
    client_.Submit(std::move(get),
                   [done = std::move(done)](S3Response*, std::exception_ptr error) { done(std::move(error)); });
    return true;
  }

  bool ReadAt(uint64_t offset, void* buffer, uint64_t n) const override {
    if (offset > size_ || size_ - offset < n) return false;
    if (block_bytes_ == 0 || n >= block_bytes_)
      return GetRange(client_, at_, size_, offset, static_cast<char*>(buffer), n);
    std::lock_guard<std::mutex> lock(mu_);
    if (offset < block_offset_ || offset + n > block_offset_ + block_.size()) {
      const uint64_t length = std::min(block_bytes_, size_ - offset);
      block_.resize(length);
      block_offset_ = offset;
      if (!GetRange(client_, at_, size_, offset, block_.data(), length)) return false;
    }
    std::memcpy(buffer, block_.data() + (offset - block_offset_), n);
    return true;
  }

 private:
  S3Client& client_;
  std::string path_;
  S3Location at_;
  uint64_t size_;
  uint64_t block_bytes_;
  mutable std::mutex mu_;
  mutable std::string block_;
  mutable uint64_t block_offset_ = 0;
};

// Below one part: a single PUT at Commit(). Above: a multipart upload whose parts go up while the
// writer fills the next; only CompleteMultipartUpload makes the object visible.
class S3Writer : public ObjectWriter {
 public:
  S3Writer(S3Client& client, S3Location at, const S3StorageOptions& options)
      : client_(client), at_(std::move(at)), options_(options) {}

  ~S3Writer() override {
    if (committed_ || upload_id_.empty()) return;
    for (auto& part : in_flight_) part.wait();
    try {
      auto abort = S3Request::To("DELETE", at_.bucket, at_.key, {{"uploadId", upload_id_}});
      client_.Perform(abort, true);
    } catch (...) {
      // The bucket's lifecycle rule for incomplete uploads cleans up what this could not.
    }
  }

  void Write(std::string_view bytes) override {
    while (!bytes.empty()) {
      const size_t take = std::min<size_t>(bytes.size(), options_.part_bytes - buffer_.size());
      buffer_.append(bytes.data(), take);
      bytes.remove_prefix(take);
      if (buffer_.size() == options_.part_bytes) SendPart();
    }
  }

  void Commit() override {
    if (upload_id_.empty()) {
      auto put = S3Request::To("PUT", at_.bucket, at_.key);
      put.body = buffer_;
      client_.Perform(put);
      committed_ = true;
      return;
    }
    if (!buffer_.empty()) SendPart();
    std::vector<std::string> etags;
    for (auto& part : in_flight_) etags.push_back(part.get());
    in_flight_.clear();
    const std::string body = CompleteMultipartBody(etags);
    auto complete = S3Request::To("POST", at_.bucket, at_.key, {{"uploadId", upload_id_}});
    complete.body = body;
    complete.content_type = "application/xml";
    client_.Perform(complete);
    committed_ = true;
  }

 private:
  void SendPart() {
    if (upload_id_.empty()) {
      auto start = S3Request::To("POST", at_.bucket, at_.key, {{"uploads", ""}});
      const S3Response response = client_.Perform(start);
      auto id = ParseUploadId(response.body);
      if (!id) {
        throw TransientError("starting a multipart upload of " + S3Client::Url(at_.bucket, at_.key) +
                             ": the answer held no UploadId");
      }
      upload_id_ = *id;
    }
    // Finished parts keep their place in in_flight_ (their ETags are read in order at Commit);
    // only the number still running is bounded.
    while (Running() >= static_cast<size_t>(options_.upload_parallelism)) WaitForOne();
    const int number = ++parts_;
    auto data = std::make_shared<std::string>(std::move(buffer_));
    buffer_.clear();
    buffer_.reserve(options_.part_bytes);
    in_flight_.push_back(std::async(std::launch::async, [this, number, data] {
      auto put =
          S3Request::To("PUT", at_.bucket, at_.key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id_}});
      put.body = *data;
      return client_.Perform(put).etag;
    }));
  }

  size_t Running() const {
    size_t running = 0;
    for (const auto& part : in_flight_) {
      running += part.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
    }
    return running;
  }

  void WaitForOne() {
    for (auto& part : in_flight_) {
      if (part.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        part.wait();
        return;
      }
    }
  }

  S3Client& client_;
  S3Location at_;
  S3StorageOptions options_;
  std::string buffer_;
  std::string upload_id_;
  int parts_ = 0;
  std::deque<std::future<std::string>> in_flight_;
  bool committed_ = false;
};

// An object cannot be appended to: the whole file is uploaded again, as TensorFlow's own S3 file
// system does for event files (they hold scalars, so they stay small) — at most once a period, so
// a trainer flushing every step does not PUT every step, and once more when closed.
class S3Appendable : public AppendableObject {
 public:
  S3Appendable(S3Client& client, S3Location at, std::chrono::milliseconds period)
      : client_(client), at_(std::move(at)), period_(period) {}
  ~S3Appendable() override {
    try {
      Upload();
    } catch (const std::exception& e) {
      LogWarning("s3", std::string("the last events of ") + S3Client::Url(at_.bucket, at_.key) +
                           " were not uploaded: " + e.what());
    }
  }
  void Append(std::string_view bytes) override { contents_.append(bytes.data(), bytes.size()); }
  void Flush() override {
    const auto now = std::chrono::steady_clock::now();
    if (uploads_ > 0 && now - last_upload_ < period_) return;
    Upload();
  }

 private:
  void Upload() {
    if (uploads_ > 0 && contents_.size() == uploaded_) return;
    auto put = S3Request::To("PUT", at_.bucket, at_.key);
    put.body = contents_;
    client_.Perform(put);
    uploaded_ = contents_.size();
    last_upload_ = std::chrono::steady_clock::now();
    ++uploads_;
  }

  S3Client& client_;
  S3Location at_;
  std::chrono::milliseconds period_;
  std::string contents_;
  size_t uploaded_ = 0;
  int64_t uploads_ = 0;
  std::chrono::steady_clock::time_point last_upload_;
};

// A HEAD's 404 has no body to say whether the bucket or the key is missing: ask about the bucket.
[[noreturn]] void ThrowNotFound(S3Client& client, const std::string& doing, const S3Location& at) {
  auto head_bucket = S3Request::To("HEAD", at.bucket, "");
  const S3Response bucket = client.Perform(head_bucket, /*allow_not_found=*/true);
  const std::string credentials = "credentials from " + client.config().credentials.source;
  if (bucket.status == 404) {
    throw StorageError(doing + ": no such bucket '" + at.bucket + "' at " + client.config().endpoint +
                       " (create it, or check the bucket name and AWS_ENDPOINT_URL_S3; " + credentials + ")");
  }
  throw NotFoundError(doing + ": bucket '" + at.bucket + "' has no object '" + at.key + "' (check the path; " +
                      credentials + ")");
}

}  // namespace

S3Storage::S3Storage(S3Config config, S3StorageOptions options) : client_(std::move(config)), options_(options) {}

std::vector<ObjectInfo> S3Storage::List(const std::string& dir) {
  const S3Location at = Locate(dir);
  std::string prefix = at.key;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  std::vector<ObjectInfo> objects;
  std::string token;
  do {
    QueryParams query = {{"list-type", "2"},
                         {"delimiter", "/"},
                         {"prefix", prefix},
                         {"max-keys", std::to_string(options_.list_page_size)}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    auto list = S3Request::To("GET", at.bucket, "", query);
    list.purpose = "listing " + S3Client::Url(at.bucket, prefix);
    const S3Response response = client_.Perform(list);
    std::string error;
    auto page = ParseListPage(response.body, &error);
    if (!page) throw TransientError("listing " + dir + ": " + error + " (a proxy in the way, or not an S3 endpoint?)");
    for (const S3ListedObject& object : page->objects) {
      if (object.key.size() <= prefix.size() || object.key.compare(0, prefix.size(), prefix) != 0) continue;
      std::string name = object.key.substr(prefix.size());
      if (name.find('/') != std::string::npos) continue;  // a folder marker
      objects.push_back({std::move(name), object.size});
    }
    token = page->truncated ? page->next_continuation_token : "";
  } while (!token.empty());
  std::sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return objects;
}

std::optional<uint64_t> S3Storage::Size(const std::string& path) { return HeadSize(client_, Locate(path)); }

std::unique_ptr<ReadableObject> S3Storage::Open(const std::string& path, Access access) {
  const S3Location at = Locate(path);
  const auto size = HeadSize(client_, at);
  if (!size) ThrowNotFound(client_, "opening " + path, at);
  return std::make_unique<S3Object>(client_, path, at, *size, access, options_.sequential_block_bytes);
}

std::string S3Storage::ReadAll(const std::string& path) {
  const S3Location at = Locate(path);
  const auto size = HeadSize(client_, at);
  if (!size) ThrowNotFound(client_, "reading " + path, at);
  std::string bytes(*size, '\0');
  // Large objects (checkpoints) come down in parallel ranges.
  const uint64_t chunk = options_.part_bytes;
  std::deque<std::future<void>> reads;
  for (uint64_t offset = 0; offset < *size; offset += chunk) {
    while (reads.size() >= static_cast<size_t>(options_.read_parallelism)) {
      reads.front().get();
      reads.pop_front();
    }
    const uint64_t n = std::min(chunk, *size - offset);
    reads.push_back(std::async(std::launch::async, [this, &at, &bytes, offset, n, size] {
      if (!GetRange(client_, at, *size, offset, bytes.data() + offset, n)) {
        throw TransientError("reading " + S3Client::Url(at.bucket, at.key) + ": the object shrank while it was read");
      }
    }));
  }
  for (auto& read : reads) read.get();
  return bytes;
}

std::unique_ptr<ObjectWriter> S3Storage::Create(const std::string& path) {
  const S3Location at = Locate(path);
  if (at.key.empty() || at.key.back() == '/') throw StorageError(path + ": an object needs a name after the bucket");
  return std::make_unique<S3Writer>(client_, at, options_);
}

std::unique_ptr<AppendableObject> S3Storage::CreateAppendable(const std::string& path) {
  return std::make_unique<S3Appendable>(client_, Locate(path), options_.appendable_upload_period);
}

void S3Storage::Delete(const std::string& path) {
  const S3Location at = Locate(path);
  client_.Perform(S3Request::To("DELETE", at.bucket, at.key), /*allow_not_found=*/true);
}

}  // namespace kubecnn::storage
