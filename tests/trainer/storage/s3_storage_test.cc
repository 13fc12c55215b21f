// Tests of the S3 backend against a real Ceph object gateway, and, through our fault-injecting
// proxy in front of it, of every failure the issue names: refusals are final and say why (bucket,
// key, credential source, never the secret); faults are retried with back-off, then transient.
#include "trainer/storage/s3_storage.h"

#include <gtest/gtest.h>

#include <ctime>
#include <future>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "tests/support/fault_proxy.h"
#include "tests/support/s3_server.h"

namespace kubecnn::storage {
namespace {

using testing::CephObjectGateway;
using testing::Fault;
using testing::FaultProxy;
using testing::MethodIs;

constexpr const char* kSource = "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY";

S3Config ConfigFor(const testing::S3Account& account, int max_attempts = 4) {
  S3Config c;
  c.endpoint = account.endpoint;
  c.path_style = true;
  c.max_attempts = max_attempts;
  c.stall_timeout_seconds = 1;
  c.connect_timeout_seconds = 1;
  c.credentials = {account.access_key, account.secret_key, "", kSource};
  return c;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(random());
  return s;
}

// Starts every read of `object` asynchronously at once, then waits for them: each one's bytes, or
// the error its completion got.
struct AsyncRead {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string bytes;
  std::exception_ptr error;
};
void ReadAllAsync(const ReadableObject& object, std::vector<AsyncRead>& reads,
                  std::set<std::thread::id>* completed_on = nullptr) {
  std::vector<std::promise<std::exception_ptr>> done(reads.size());
  std::mutex mu;
  for (size_t i = 0; i < reads.size(); ++i) {
    reads[i].bytes.assign(reads[i].length, '\0');
    const bool started =
        object.ReadAtAsync(reads[i].offset, reads[i].bytes.data(), reads[i].length, [&, i](std::exception_ptr error) {
          if (completed_on) {
            std::lock_guard<std::mutex> lock(mu);
            completed_on->insert(std::this_thread::get_id());
          }
          done[i].set_value(error);
        });
    ASSERT_TRUE(started) << reads[i].offset;
  }
  for (size_t i = 0; i < reads.size(); ++i) reads[i].error = done[i].get_future().get();
}

class S3StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KUBECNN_SKIP_WITHOUT_CEPH();
    gateway_ = &CephObjectGateway::Shared();
    bucket_ = gateway_->CreateUniqueBucket("storage");
  }
  std::string Url(const std::string& key) const { return "s3://" + bucket_ + "/" + key; }
  // What a refusal says, which must never hold the secret key.
  std::string MessageOf(const std::function<void()>& action) {
    try {
      action();
    } catch (const std::exception& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find(gateway_->account().secret_key), std::string::npos) << message;
      return message;
    }
    ADD_FAILURE() << "no error";
    return "";
  }

  CephObjectGateway* gateway_ = nullptr;
  std::string bucket_;
};

TEST_F(S3StorageTest, ListsOneFolderLevelAcrossPagesSortedWithSizes) {
  S3StorageOptions options;
  options.list_page_size = 3;
  S3Storage store(ConfigFor(gateway_->account()), options);
  const int64_t requests_before = GlobalS3Counters().requests.load();
  for (int i = 0; i < 7; ++i) gateway_->PutObject(bucket_, "data/train-0000" + std::to_string(i), std::string(i, 'x'));
  gateway_->PutObject(bucket_, "data/sub/inner", "y");
  gateway_->PutObject(bucket_, "database", "z");  // shares the prefix "data" but not the folder
  const auto objects = store.List(Url("data"));
  ASSERT_EQ(objects.size(), 7u);
  EXPECT_EQ(objects[0].name, "train-00000");
  EXPECT_EQ(objects[6].name, "train-00006");
  EXPECT_EQ(objects[6].size, 6u);
  EXPECT_EQ(GlobalS3Counters().requests.load() - requests_before, 3);  // 8 entries, 3 a page
  EXPECT_TRUE(store.List(Url("nothing-here")).empty());
  EXPECT_EQ(store.List("s3://" + bucket_).size(), 1u);  // "database"
}

TEST_F(S3StorageTest, RangedAndSequentialReadsReturnTheObjectsBytes) {
  S3StorageOptions options;
  options.sequential_block_bytes = 1000;
  S3Storage store(ConfigFor(gateway_->account()), options);
  const std::string bytes = RandomBytes(5000, 1);
  gateway_->PutObject(bucket_, "obj", bytes);
  EXPECT_EQ(store.Size(Url("obj")), 5000u);
  EXPECT_EQ(store.Size(Url("absent")), std::nullopt);
  for (Access access : {Access::kRandom, Access::kSequential}) {
    auto object = store.Open(Url("obj"), access);
    ASSERT_EQ(object->size(), 5000u);
    std::string part(700, '\0');
    for (uint64_t offset = 0; offset + 700 <= 5000; offset += 650) {
      ASSERT_TRUE(object->ReadAt(offset, part.data(), 700));
      ASSERT_EQ(part, bytes.substr(offset, 700)) << offset;
    }
    EXPECT_FALSE(object->ReadAt(4500, part.data(), 700));
  }
  EXPECT_EQ(store.ReadAll(Url("obj")), bytes);
}

TEST_F(S3StorageTest, MultipartObjectIsInvisibleUntilCommittedAndAbandonedUploadsLeaveNothing) {
  S3StorageOptions options;
  options.part_bytes = 5u << 20;  // S3's smallest part
  options.read_parallelism = 3;
  S3Storage store(ConfigFor(gateway_->account()), options);
  const std::string bytes = RandomBytes((11u << 20) + 123, 2);
  gateway_->PutObject(bucket_, "ckpt/model.pt", "previous checkpoint");
  {
    auto writer = store.Create(Url("ckpt/model.pt"));
    writer->Write(std::string_view(bytes).substr(0, 6u << 20));  // one part is up already
    EXPECT_EQ(gateway_->GetObject(bucket_, "ckpt/model.pt"), "previous checkpoint");
  }  // abandoned
  EXPECT_EQ(gateway_->GetObject(bucket_, "ckpt/model.pt"), "previous checkpoint");
  const auto uploads = testing::S3Request(gateway_->account(), "GET", testing::S3ObjectPath(bucket_, ""),
                                          testing::S3Query({{"uploads", ""}}));
  EXPECT_EQ(uploads.body.find("<Upload>"), std::string::npos) << uploads.body;

  const int64_t requests_before = GlobalS3Counters().requests.load();
  auto writer = store.Create(Url("ckpt/model.pt"));
  writer->Write(std::string_view(bytes).substr(0, 3u << 20));
  writer->Write(std::string_view(bytes).substr(3u << 20));
  EXPECT_EQ(gateway_->GetObject(bucket_, "ckpt/model.pt"), "previous checkpoint");
  writer->Commit();
  EXPECT_EQ(GlobalS3Counters().requests.load() - requests_before, 5);  // initiate, 3 parts, complete
  EXPECT_EQ(store.ReadAll(Url("ckpt/model.pt")), bytes);
  store.Delete(Url("ckpt/model.pt"));
  store.Delete(Url("ckpt/model.pt"));  // absent: fine
  EXPECT_EQ(store.Size(Url("ckpt/model.pt")), std::nullopt);
}

TEST_F(S3StorageTest, AppendableUploadsTheWholeFileAtMostOnceAPeriodAndWhenClosed) {
  S3StorageOptions options;
  options.appendable_upload_period = std::chrono::hours(1);
  S3Storage store(ConfigFor(gateway_->account()), options);
  const std::string key = "run/events.out.tfevents.1.host";
  {
    auto events = store.CreateAppendable(Url(key));
    events->Append("header");
    events->Flush();  // the first flush uploads: TensorBoard sees the file at once
    EXPECT_EQ(gateway_->GetObject(bucket_, key), "header");
    events->Append("+scalars");
    events->Flush();  // within the period: not yet
    EXPECT_EQ(gateway_->GetObject(bucket_, key), "header");
  }
  EXPECT_EQ(gateway_->GetObject(bucket_, key), "header+scalars");  // closed: uploaded
  options.appendable_upload_period = std::chrono::milliseconds(0);
  S3Storage eager(ConfigFor(gateway_->account()), options);
  auto events = eager.CreateAppendable(Url(key));
  events->Append("a");
  events->Flush();
  events->Append("b");
  events->Flush();
  EXPECT_EQ(gateway_->GetObject(bucket_, key), "ab");
}

TEST_F(S3StorageTest, RefusalsArePermanentAndSayBucketKeyAndCredentialSource) {
  S3Storage store(ConfigFor(gateway_->account()));
  std::string m = MessageOf([&] { store.List("s3://no-such-bucket-here/data"); });
  EXPECT_NE(m.find("NoSuchBucket"), std::string::npos) << m;
  EXPECT_NE(m.find("s3://no-such-bucket-here"), std::string::npos) << m;
  EXPECT_THROW(store.List("s3://no-such-bucket-here/data"), StorageError);
  m = MessageOf([&] { store.ReadAll(Url("missing/key")); });
  EXPECT_NE(m.find(Url("missing/key")), std::string::npos) << m;
  EXPECT_THROW(store.Open(Url("missing/key"), Access::kRandom), NotFoundError);

  S3Config wrong_secret = ConfigFor(gateway_->account());
  wrong_secret.credentials.secret_access_key = "not-the-secret";
  S3Storage bad(wrong_secret);
  m = MessageOf([&] { bad.List(Url("data")); });
  EXPECT_NE(m.find("SignatureDoesNotMatch"), std::string::npos) << m;
  EXPECT_NE(m.find(kSource), std::string::npos) << m;
  EXPECT_EQ(m.find("not-the-secret"), std::string::npos) << m;
  EXPECT_THROW(bad.List(Url("data")), StorageError);

  S3Config unknown_key = ConfigFor(gateway_->account());
  unknown_key.credentials.access_key_id = "AKNOBODY";
  m = MessageOf([&] { S3Storage(unknown_key).Size(Url("x")); });
  EXPECT_NE(m.find("403"), std::string::npos) << m;
}

TEST_F(S3StorageTest, AsynchronousRangedReadsAllGoThroughOneTransferThread) {
  S3Storage store(ConfigFor(gateway_->account()));
  const std::string bytes = RandomBytes(1 << 20, 2);
  gateway_->PutObject(bucket_, "obj", bytes);
  EXPECT_FALSE(store.Open(Url("obj"), Access::kSequential)->reads_async());  // its blocks are read ahead in turn
  auto object = store.Open(Url("obj"), Access::kRandom);
  ASSERT_TRUE(object->reads_async());
  std::mt19937_64 random(4);
  std::vector<AsyncRead> reads(200);
  for (AsyncRead& read : reads) {
    read.length = 1 + random() % 20000;
    read.offset = random() % (bytes.size() - read.length);
  }
  reads.back() = {bytes.size() - 7, 7, "", nullptr};  // the last bytes
  const int64_t requests = GlobalS3Counters().requests.load();
  std::set<std::thread::id> completed_on;
  ReadAllAsync(*object, reads, &completed_on);
  ASSERT_EQ(completed_on.size(), 1u);                            // every completion on one thread ...
  EXPECT_NE(*completed_on.begin(), std::this_thread::get_id());  // ... which is not the caller's
  for (const AsyncRead& read : reads) {
    ASSERT_EQ(read.error, nullptr) << read.offset;
    ASSERT_EQ(read.bytes, bytes.substr(read.offset, read.length)) << read.offset;
  }
  EXPECT_GE(GlobalS3Counters().requests.load() - requests, 200);
  std::string past(10, '\0');
  EXPECT_FALSE(object->ReadAtAsync(bytes.size() - 5, past.data(), 10,
                                   [](std::exception_ptr) { ADD_FAILURE() << "a read past the end was started"; }));
}

class S3FaultTest : public S3StorageTest {
 protected:
  void SetUp() override {
    S3StorageTest::SetUp();
    if (IsSkipped()) return;
    proxy_ = std::make_unique<FaultProxy>(gateway_->host(), gateway_->port());
    gateway_->PutObject(bucket_, "obj", bytes_);
  }
  S3Config ProxiedConfig(int max_attempts = 4) {
    return ConfigFor(gateway_->account().WithEndpoint(proxy_->url()), max_attempts);
  }
  // Reads the object through the proxy; the retries S3Client counted.
  int64_t ReadThroughProxy(S3Storage& store) {
    const int64_t before = GlobalS3Counters().retries.load();
    auto object = store.Open(Url("obj"), Access::kRandom);
    std::string part(bytes_.size(), '\0');
    EXPECT_TRUE(object->ReadAt(0, part.data(), part.size()));
    EXPECT_EQ(part, bytes_);
    return GlobalS3Counters().retries.load() - before;
  }

  std::string bytes_ = RandomBytes(200000, 3);
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(S3FaultTest, SlowDownAnd5xxAreRetriedThenSucceed) {
  S3Storage store(ProxiedConfig());
  proxy_->FailNext(1, Fault::SlowDown(), MethodIs("GET"));
  proxy_->FailNext(1, Fault::InternalError(), MethodIs("GET"));
  EXPECT_EQ(ReadThroughProxy(store), 2);
  EXPECT_EQ(proxy_->faults_injected(), 2);
}

TEST_F(S3FaultTest, ResetsTruncatedBodiesAndStallsAreRetriedThenSucceed) {
  S3Storage store(ProxiedConfig());
  proxy_->FailNext(1, Fault::ResetAfterRequest(), MethodIs("GET"));
  proxy_->FailNext(1, Fault::ResetAfterResponseBytes(1000), MethodIs("GET"));
  proxy_->FailNext(1, Fault::TruncateBody(5000), MethodIs("GET"));
  // libcurl itself resends a GET once when a reused connection turns out reset before any answer,
  // so the three faults cost two or three of our tries.
  EXPECT_GE(ReadThroughProxy(store), 2);
  EXPECT_EQ(proxy_->faults_injected(), 3);
  proxy_->FailNext(1, Fault::DelayResponse(std::chrono::milliseconds(3000)), MethodIs("GET"));
  EXPECT_EQ(ReadThroughProxy(store), 1);  // cut after the 1 s stall timeout, then read again
}

TEST_F(S3FaultTest, FaultsThatOutlastTheTriesAreTransient) {
  S3Storage store(ProxiedConfig(3));
  auto object = store.Open(Url("obj"), Access::kRandom);
  proxy_->FailEvery(Fault::SlowDown());
  std::string part(100, '\0');
  try {
    object->ReadAt(0, part.data(), part.size());
    FAIL() << "no error";
  } catch (const TransientError& e) {
    EXPECT_NE(std::string(e.what()).find("after 3 tries"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("SlowDown"), std::string::npos) << e.what();
  }
  EXPECT_EQ(proxy_->faults_injected(), 3);
}

TEST_F(S3FaultTest, AnUnreachableEndpointIsTransient) {
  S3Config c = ConfigFor(gateway_->account().WithEndpoint("http://127.0.0.1:1"), 2);
  S3Storage store(c);
  EXPECT_THROW(store.List(Url("data")), TransientError);
}

TEST_F(S3FaultTest, ACorruptByteReachesTheCallerForItsCrcToCatch) {
  // S3 has no checksum on a ranged GET: corruption on the way is the TFRecord CRCs' to find
  // (tests/trainer/data: TfRecord.ACorruptByteFromS3IsACrcMismatch runs the reader over this).
  S3Storage store(ProxiedConfig());
  proxy_->FailNext(1, Fault::CorruptBodyByte(10), MethodIs("GET"));
  auto object = store.Open(Url("obj"), Access::kRandom);
  std::string part(100, '\0');
  ASSERT_TRUE(object->ReadAt(0, part.data(), part.size()));
  EXPECT_NE(part, bytes_.substr(0, 100));
}

TEST_F(S3FaultTest, AsynchronousReadsAreRetriedThroughTheSameFaults) {
  S3Storage store(ProxiedConfig(5));
  auto object = store.Open(Url("obj"), Access::kRandom);
  proxy_->FailNext(1, Fault::SlowDown(), MethodIs("GET"));
  proxy_->FailNext(1, Fault::InternalError(), MethodIs("GET"));
  proxy_->FailNext(1, Fault::ResetAfterResponseBytes(1000), MethodIs("GET"));
  proxy_->FailNext(1, Fault::TruncateBody(5000), MethodIs("GET"));
  // Cut by libcurl's stall timer (1 s), which only the transfer thread's timer handling fires.
  proxy_->FailNext(1, Fault::DelayResponse(std::chrono::milliseconds(3000)), MethodIs("GET"));
  const int64_t retries = GlobalS3Counters().retries.load();
  std::vector<AsyncRead> reads;
  for (uint64_t offset = 0; offset + 20000 <= bytes_.size(); offset += 20000)
    reads.push_back({offset, 20000, "", nullptr});
  ReadAllAsync(*object, reads);
  for (const AsyncRead& read : reads) {
    EXPECT_EQ(read.error, nullptr) << read.offset;
    EXPECT_EQ(read.bytes, bytes_.substr(read.offset, read.length)) << read.offset;
  }
  EXPECT_EQ(proxy_->faults_injected(), 5);
  EXPECT_EQ(GlobalS3Counters().retries.load() - retries, 5);  // the stalled one too: cut, not waited for
}

TEST_F(S3FaultTest, AsynchronousReadsEndInTheErrorsPerformThrows) {
  S3Storage store(ProxiedConfig(3));
  auto object = store.Open(Url("obj"), Access::kRandom);
  proxy_->FailEvery(Fault::SlowDown());
  std::vector<AsyncRead> reads = {{0, 100, "", nullptr}, {1000, 100, "", nullptr}};
  ReadAllAsync(*object, reads);
  for (const AsyncRead& read : reads) {
    try {
      std::rethrow_exception(read.error);
    } catch (const TransientError& e) {
      EXPECT_NE(std::string(e.what()).find("after 3 tries"), std::string::npos) << e.what();
    } catch (...) {
      ADD_FAILURE() << "not a TransientError";
    }
  }
  proxy_->Clear();
  gateway_->DeleteObject(bucket_, "obj");  // opened, then gone: NoSuchKey is final
  reads = {{0, 100, "", nullptr}};
  ReadAllAsync(*object, reads);
  try {
    std::rethrow_exception(reads[0].error);
  } catch (const NotFoundError& e) {
    EXPECT_NE(std::string(e.what()).find(bucket_ + "/obj"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(gateway_->account().secret_key), std::string::npos);
  } catch (...) {
    ADD_FAILURE() << "not a NotFoundError";
  }
}

TEST_F(S3FaultTest, AClientClosedWithReadsInFlightTellsTheirCallers) {
  auto store = std::make_unique<S3Storage>(ProxiedConfig(10));
  auto object = store->Open(Url("obj"), Access::kRandom);
  proxy_->FailEvery(Fault::SlowDown());  // the read tries, waits, tries again, ...
  std::string bytes(100, '\0');
  std::promise<std::exception_ptr> done;
  bool next_refused = false;
  ASSERT_TRUE(object->ReadAtAsync(0, bytes.data(), 100, [&](std::exception_ptr e) {
    // A reader told of the shutdown that starts another read (the read-ahead does) is refused at
    // once, not left waiting for an answer that never comes.
    try {
      object->ReadAtAsync(0, bytes.data(), 100, [](std::exception_ptr) { ADD_FAILURE() << "a read after shutdown"; });
    } catch (const TransientError&) {
      next_refused = true;
    }
    done.set_value(e);
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  store.reset();  // the object's reads end with it (the object is not used again)
  const std::exception_ptr error = done.get_future().get();
  EXPECT_THROW(std::rethrow_exception(error), TransientError);
  EXPECT_TRUE(next_refused);
}

// Web identity (EKS IAM roles for service accounts): the proxy plays STS and answers
// AssumeRoleWithWebIdentity with the gateway user's keys; everything else goes on to the gateway.
class S3WebIdentityTest : public S3FaultTest {
 protected:
  void SetUp() override {
    S3FaultTest::SetUp();
    if (IsSkipped()) return;
    testing::WriteFile(token_file_.path() + "/token", "eyJhbGciOiJSUzI1NiJ9.projected-token.sig\n");
  }
  S3Config WebIdentityConfig() {
    S3Config c = ProxiedConfig();
    c.credentials = {"", "", "", "web identity token " + token_file_.path() + "/token (role " + kRole + ")"};
    c.web_identity = WebIdentity{token_file_.path() + "/token", kRole, "kubecnn-trainer", proxy_->url()};
    return c;
  }
  // STS's answer: the gateway user's keys, expiring `in` from now.
  Fault StsAnswer(std::chrono::seconds in) const {
    const std::time_t expires = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + in);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&expires));
    return Fault::Respond(200, "OK",
                          "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                          "<AccessKeyId>" +
                              gateway_->account().access_key + "</AccessKeyId><SecretAccessKey>" +
                              gateway_->account().secret_key + "</SecretAccessKey><Expiration>" + when +
                              "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                              "</AssumeRoleWithWebIdentityResponse>",
                          "text/xml");
  }
  // Matches STS calls and keeps their queries.
  testing::RequestMatcher Sts() {
    return [this](const testing::ProxiedRequest& r) {
      if (r.query().find("Action=AssumeRoleWithWebIdentity") == std::string::npos) return false;
      std::lock_guard<std::mutex> lock(mu_);
      sts_queries_.push_back(r.query());
      return true;
    };
  }
  static constexpr const char* kRole = "arn:aws:iam::123456789012:role/imagenet-reader";
  testing::ScratchDir token_file_;
  std::mutex mu_;
  std::vector<std::string> sts_queries_;
};

TEST_F(S3WebIdentityTest, TradesTheProjectedTokenForCredentialsOnceWhileTheyLast) {
  proxy_->FailEvery(StsAnswer(std::chrono::hours(1)), Sts());
  S3Storage store(WebIdentityConfig());
  EXPECT_EQ(store.ReadAll(Url("obj")), bytes_);
  EXPECT_EQ(store.Size(Url("obj")), bytes_.size());
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(sts_queries_.size(), 1u);
  EXPECT_NE(sts_queries_[0].find("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fimagenet-reader"),
            std::string::npos)
      << sts_queries_[0];
  // The file's token without its newline, last in the sorted query.
  const std::string token = "WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.projected-token.sig";
  EXPECT_EQ(sts_queries_[0].substr(sts_queries_[0].size() - token.size()), token) << sts_queries_[0];
}

TEST_F(S3WebIdentityTest, CredentialsAboutToExpireAreTradedAgain) {
  proxy_->FailEvery(StsAnswer(std::chrono::minutes(2)), Sts());  // inside the 5-minute margin
  S3Storage store(WebIdentityConfig());
  store.Size(Url("obj"));
  store.Size(Url("obj"));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(sts_queries_.size(), 2u);
}

TEST_F(S3WebIdentityTest, ARefusedTokenIsPermanentAndNamesRoleAndTokenFileNotTheToken) {
  proxy_->FailEvery(Fault::Respond(400, "Bad Request",
                                   "<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>Incorrect token "
                                   "audience</Message></Error></ErrorResponse>"),
                    Sts());
  S3Storage store(WebIdentityConfig());
  const std::string m = MessageOf([&] { store.Size(Url("obj")); });
  EXPECT_THROW(store.Size(Url("obj")), StorageError);
  EXPECT_NE(m.find("InvalidIdentityToken"), std::string::npos) << m;
  EXPECT_NE(m.find(kRole), std::string::npos) << m;
  EXPECT_NE(m.find(token_file_.path() + "/token"), std::string::npos) << m;
  EXPECT_EQ(m.find("projected-token"), std::string::npos) << m;
}

}  // namespace
}  // namespace kubecnn::storage
