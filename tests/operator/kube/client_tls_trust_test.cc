// Whom the API client trusts: the kubeconfig's CA and nothing else, as client-go. The system's
// store is planted through SSL_CERT_FILE/SSL_CERT_DIR (OpenSSL reads them each time a context
// loads its default paths), so a CA there is one the process would trust by default.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "operator/kube/api_error.h"
#include "operator/kube/client.h"
#include "operator/kube/http_transport.h"
#include "tests/support/fake_apiserver.h"
#include "tests/support/test_files.h"
#include "tests/support/test_pki.h"

namespace kubecnn::kube {
namespace {

using testing::FakeApiServer;
using testing::FakeApiServerOptions;

// Points OpenSSL's default trust store at `bundle` alone for the life of the object.
class PlantedSystemStore {
 public:
  explicit PlantedSystemStore(const std::string& bundle) {
    testing::WriteFile(dir_.path() + "/system-roots.pem", bundle);
    Save("SSL_CERT_FILE", dir_.path() + "/system-roots.pem", &file_);
    Save("SSL_CERT_DIR", dir_.path(), &dir_env_);  // holds no hashed certificates
  }
  ~PlantedSystemStore() {
    Restore("SSL_CERT_FILE", file_);
    Restore("SSL_CERT_DIR", dir_env_);
  }

 private:
  struct Saved {
    bool had = false;
    std::string value;
  };
  static void Save(const char* name, const std::string& value, Saved* saved) {
    if (const char* old = std::getenv(name)) *saved = {true, old};
    ::setenv(name, value.c_str(), 1);
  }
  static void Restore(const char* name, const Saved& saved) {
    if (saved.had) {
      ::setenv(name, saved.value.c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  testing::ScratchDir dir_;
  Saved file_, dir_env_;
};

RestConfig TlsConfigFor(const FakeApiServer& server, const std::string& ca_pem) {
  RestConfig rc;
  rc.server = server.url();
  rc.qps = 0;
  rc.timeout = std::chrono::seconds(10);
  rc.source = "test";
  rc.ca_pem = ca_pem;
  return rc;
}

const nlohmann::json kConfigMap = {{"metadata", {{"name", "trust"}, {"namespace", "ns"}}}, {"data", {{"k", "v"}}}};

TEST(ClientTlsTrust, AServerSignedByASystemTrustedCaIsRefusedWhenTheKubeconfigNamesAnother) {
  FakeApiServer server(FakeApiServerOptions{true});
  // The server's CA is trusted system-wide; the kubeconfig trusts another CA only.
  PlantedSystemStore system(server.pki().ca.cert_pem);
  Client client(TlsConfigFor(server, testing::GenerateCa("the cluster's real CA").cert_pem));
  try {
    client.Create(resources::kConfigMaps, "ns", kConfigMap);
    FAIL() << "a server the kubeconfig's CA did not sign was trusted through the system store";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("TLS"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(server.Requests().empty()) << "a request reached a server the configured CA does not vouch for";
}

TEST(ClientTlsTrust, TheConfiguredCaIsTrustedWhateverTheSystemStoreHolds) {
  FakeApiServer server(FakeApiServerOptions{true});
  PlantedSystemStore system(testing::GenerateCa("some public CA").cert_pem);
  Client client(TlsConfigFor(server, server.pki().ca.cert_pem));
  EXPECT_NO_THROW(client.Create(resources::kConfigMaps, "ns", kConfigMap));
  // A bundle trusts each of its CAs.
  Client bundle(TlsConfigFor(server, testing::GenerateCa("another CA").cert_pem + server.pki().ca.cert_pem));
  EXPECT_EQ(bundle.Get(resources::kConfigMaps, "ns", "trust")["metadata"]["name"], "trust");
}

TEST(ClientTlsTrust, WithoutAConfiguredCaTheSystemStoreDecides) {
  FakeApiServer server(FakeApiServerOptions{true});
  {
    PlantedSystemStore system(server.pki().ca.cert_pem);
    EXPECT_NO_THROW(Client(TlsConfigFor(server, "")).Create(resources::kConfigMaps, "ns", kConfigMap));
  }
  PlantedSystemStore other(testing::GenerateCa("some public CA").cert_pem);
  EXPECT_THROW(Client(TlsConfigFor(server, "")).Create(resources::kConfigMaps, "ns", kConfigMap), TransportError);
}

}  // namespace
}  // namespace kubecnn::kube
