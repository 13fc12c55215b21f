// Throwaway X.509 material for TLS tests, generated in memory with OpenSSL (EC P-256, valid for one
// day): certificate authorities, server certificates with chosen SANs, client certificates with a
// common name and organizations (Kubernetes reads them as user and groups), and bare signing keys.
#pragma once

#include <string>
#include <vector>

namespace kubecnn::testing {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed CA certificate and its key.
KeyPair GenerateCa(const std::string& common_name);

// A serverAuth certificate signed by `ca`, with subjectAltNames IP:<each ip> and DNS:<each dns>.
KeyPair IssueServerCert(const KeyPair& ca, const std::string& common_name, const std::vector<std::string>& ip_sans,
                        const std::vector<std::string>& dns_sans);

// A clientAuth certificate signed by `ca`: subject CN=<common_name>, one O=<organization> per entry
// (kube-apiserver's user name and groups).
KeyPair IssueClientCert(const KeyPair& ca, const std::string& common_name,
                        const std::vector<std::string>& organizations = {});

// A key pair without a certificate (a service-account token signer): PKCS#8 private key and SPKI
// public key, PEM.
struct SigningKey {
  std::string private_key_pem;
  std::string public_key_pem;
};
SigningKey GenerateSigningKey();

struct TestPki {
  KeyPair ca;
  KeyPair server;  // SAN IP:127.0.0.1, DNS:localhost; signed by `ca`
  KeyPair client;  // CN=<client_common_name>, clientAuth; signed by `ca`
};

TestPki GenerateTestPki(const std::string& client_common_name = "kubecnn-test-client");

}  // namespace kubecnn::testing
