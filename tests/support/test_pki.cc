// GenerateTestPki with OpenSSL 3's EVP and X509 APIs.
#include "tests/support/test_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace kubecnn::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error(std::string("generating test certificates: ") + what + ": " + buf);
  }
}

std::string Pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a certificate for `key`; self-signed when issuer is null.
X509* Issue(EVP_PKEY* key, const char* common_name, long serial, X509* issuer, EVP_PKEY* issuer_key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  return cert;
}

}  // namespace

TestPki GenerateTestPki(const std::string& client_common_name) {
  EVP_PKEY* ca_key = EVP_EC_gen("P-256");
  EVP_PKEY* server_key = EVP_EC_gen("P-256");
  EVP_PKEY* client_key = EVP_EC_gen("P-256");
  Check(ca_key && server_key && client_key, "EC key");

  X509* ca = Issue(ca_key, "kubecnn-test-ca", 1, nullptr, nullptr);
  AddExtension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  AddExtension(ca, ca, NID_subject_key_identifier, "hash");
  Check(X509_sign(ca, ca_key, EVP_sha256()) > 0, "signing the CA");

  X509* server = Issue(server_key, "kube-apiserver", 2, ca, ca_key);
  AddExtension(server, ca, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(server, ca, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  AddExtension(server, ca, NID_ext_key_usage, "serverAuth");
  AddExtension(server, ca, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  AddExtension(server, ca, NID_authority_key_identifier, "keyid:always");
  Check(X509_sign(server, ca_key, EVP_sha256()) > 0, "signing the server certificate");

  X509* client = Issue(client_key, client_common_name.c_str(), 3, ca, ca_key);
  AddExtension(client, ca, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(client, ca, NID_key_usage, "critical,digitalSignature");
  AddExtension(client, ca, NID_ext_key_usage, "clientAuth");
  Check(X509_sign(client, ca_key, EVP_sha256()) > 0, "signing the client certificate");

  TestPki pki{{Pem(ca), Pem(ca_key)}, {Pem(server), Pem(server_key)}, {Pem(client), Pem(client_key)}};
  X509_free(ca);
  X509_free(server);
  X509_free(client);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(server_key);
  EVP_PKEY_free(client_key);
  return pki;
}

}  // namespace kubecnn::testing
