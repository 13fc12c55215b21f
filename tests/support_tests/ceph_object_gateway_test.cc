// CephObjectGateway and S3TestClient against the real radosgw they start: buckets, objects, listing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/s3_server.h"

namespace kubecnn::testing {
namespace {

class CephObjectGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override { KUBECNN_SKIP_WITHOUT_CEPH(); }
};

TEST_F(CephObjectGatewayTest, StartsOnALoopbackPortWithItsOwnKeys) {
  const CephObjectGateway& gateway = CephObjectGateway::Shared();
  EXPECT_EQ(gateway.host(), "127.0.0.1");
  EXPECT_GT(gateway.port(), 0);
  EXPECT_EQ(gateway.account().access_key.size(), 20u);
  EXPECT_EQ(gateway.account().secret_key.size(), 40u);
}

TEST_F(CephObjectGatewayTest, ObjectRoundTripsByteForByteUnderAKeyThatNeedsEncoding) {
  const CephObjectGateway& gateway = CephObjectGateway::Shared();
  const std::string bucket = gateway.CreateUniqueBucket("round-trip");
  std::string bytes = "header";
  bytes += '\0';
  for (int i = 0; i < 300000; ++i) bytes += static_cast<char>(i * 7);
  const std::string key = "run 1/step=0001/ckpt+ü.bin";

  gateway.PutObject(bucket, key, bytes);
  EXPECT_EQ(gateway.GetObject(bucket, key), bytes);
  gateway.DeleteObject(bucket, key);
  EXPECT_EQ(gateway.GetObject(bucket, key), std::nullopt);
}

TEST_F(CephObjectGatewayTest, ListKeysReturnsEveryKeyUnderThePrefixSorted) {
  const CephObjectGateway& gateway = CephObjectGateway::Shared();
  const std::string bucket = gateway.CreateUniqueBucket("listing");
  for (const char* key : {"shards/train-00001", "shards/train-00000", "shards/eval/x", "other/y"}) {
    gateway.PutObject(bucket, key, key);
  }
  EXPECT_EQ(gateway.ListKeys(bucket, "shards/"),
            (std::vector<std::string>{"shards/eval/x", "shards/train-00000", "shards/train-00001"}));
  EXPECT_EQ(gateway.ListKeys(bucket).size(), 4u);
  EXPECT_TRUE(gateway.ListKeys(bucket, "nothing/").empty());
}

TEST_F(CephObjectGatewayTest, GetFromAMissingBucketThrowsNamingTheRequest) {
  const CephObjectGateway& gateway = CephObjectGateway::Shared();
  try {
    gateway.GetObject("no-such-bucket-here", "k");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("GET " + gateway.endpoint() + "/no-such-bucket-here/k"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("NoSuchBucket"), std::string::npos) << e.what();
  }
}

TEST_F(CephObjectGatewayTest, RequestsSignedWithTheWrongSecretAreRefused) {
  const CephObjectGateway& gateway = CephObjectGateway::Shared();
  S3Account wrong = gateway.account();
  wrong.secret_key[0] = wrong.secret_key[0] == 'a' ? 'b' : 'a';
  const S3Reply reply = S3Request(wrong, "PUT", S3ObjectPath("refused-bucket", ""));
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.ErrorCode(), "SignatureDoesNotMatch");
}

TEST_F(CephObjectGatewayTest, SignedQueryParametersAreAcceptedInAnyOrderGiven) {
  const CephObjectGateway& gateway = CephObjectGateway::Shared();
  const std::string bucket = gateway.CreateUniqueBucket("query");
  gateway.PutObject(bucket, "a b/c", "x");
  const S3Reply reply = S3Request(gateway.account(), "GET", S3ObjectPath(bucket, ""),
                                  S3Query({{"prefix", "a b/"}, {"list-type", "2"}, {"max-keys", "1"}}));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.body.find("<Key>a b/c</Key>"), std::string::npos) << reply.body;
}

TEST_F(CephObjectGatewayTest, ASecondGatewayRunsBesideTheSharedOneAndIsGoneOnceDestroyed) {
  const CephObjectGateway& shared = CephObjectGateway::Shared();
  S3Account second_account;
  {
    const CephObjectGateway second;
    second_account = second.account();
    EXPECT_NE(second.endpoint(), shared.endpoint());
    second.CreateBucket("second-gateway");
    EXPECT_TRUE(second.ListKeys("second-gateway").empty());
  }
  const S3Reply reply = S3Request(second_account, "GET", "/", "", "", std::chrono::seconds(5));
  EXPECT_NE(reply.curl_code, 0) << "the stopped gateway still answered HTTP " << reply.status;
  EXPECT_TRUE(S3Request(shared.account(), "GET", "/").ok());
}

}  // namespace
}  // namespace kubecnn::testing
