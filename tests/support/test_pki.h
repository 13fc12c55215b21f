// Throwaway X.509 material for TLS tests: a CA, a server certificate for 127.0.0.1/localhost and a
// client certificate, all generated in memory with OpenSSL (EC P-256, valid for one day).
#pragma once

#include <string>

namespace kubecnn::testing {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

struct TestPki {
  KeyPair ca;
  KeyPair server;  // SAN IP:127.0.0.1, DNS:localhost; signed by `ca`
  KeyPair client;  // CN=<client_common_name>, clientAuth; signed by `ca`
};

TestPki GenerateTestPki(const std::string& client_common_name = "kubecnn-test-client");

}  // namespace kubecnn::testing
