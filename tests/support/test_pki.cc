// Certificates and keys with OpenSSL 3's EVP and X509 APIs.
#include "tests/support/test_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace kubecnn::testing {
namespace {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using Cert = std::unique_ptr<X509, Free>;
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Bio = std::unique_ptr<BIO, Free>;

void Check(bool ok, const std::string& what) {
  if (!ok) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error("generating test certificates: " + what + ": " + buf);
  }
}

std::string MemoryContents(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), cert) == 1, "writing a certificate");
  return MemoryContents(bio.get());
}

std::string PrivatePem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "writing a key");
  return MemoryContents(bio.get());
}

std::string PublicPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PUBKEY(bio.get(), key) == 1, "writing a public key");
  return MemoryContents(bio.get());
}

Key NewKey() {
  Key key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EC key");
  return key;
}

Cert ReadCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  Check(cert != nullptr, "reading the CA certificate");
  return cert;
}

Key ReadKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  Check(key != nullptr, "reading the CA key");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` with subject CN (+ O each), a random serial, valid from an hour ago for
// a day; self-issued when `issuer` is null. Extensions and the signature are the caller's.
Cert NewCert(EVP_PKEY* key, const std::string& common_name, const std::vector<std::string>& organizations,
             X509* issuer) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  Check(RAND_bytes(serial, sizeof serial) == 1, "random serial");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Free> serial_bn(BN_bin2bn(serial, sizeof serial, nullptr));
  Check(BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get())) != nullptr, "serial");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const std::string& organization : organizations) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(organization.c_str()),
                               -1, -1, 0);
  }
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  return cert;
}

KeyPair IssueLeaf(const KeyPair& ca, const std::string& common_name, const std::vector<std::string>& organizations,
                  const std::string& extended_usage, const std::string& subject_alt_names) {
  const Cert ca_cert = ReadCert(ca.cert_pem);
  const Key ca_key = ReadKey(ca.key_pem);
  const Key key = NewKey();
  const Cert cert = NewCert(key.get(), common_name, organizations, ca_cert.get());
  AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(
      cert.get(), ca_cert.get(), NID_key_usage,
      extended_usage == "serverAuth" ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
  AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, extended_usage);
  if (!subject_alt_names.empty()) AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, subject_alt_names);
  AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  Check(X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0, "signing the certificate for " + common_name);
  return KeyPair{Pem(cert.get()), PrivatePem(key.get())};
}

}  // namespace

KeyPair GenerateCa(const std::string& common_name) {
  const Key key = NewKey();
  const Cert ca = NewCert(key.get(), common_name, {}, nullptr);
  AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  Check(X509_sign(ca.get(), key.get(), EVP_sha256()) > 0, "signing the CA " + common_name);
  return KeyPair{Pem(ca.get()), PrivatePem(key.get())};
}

KeyPair IssueServerCert(const KeyPair& ca, const std::string& common_name, const std::vector<std::string>& ip_sans,
                        const std::vector<std::string>& dns_sans) {
  std::string names;
  for (const std::string& ip : ip_sans) names += (names.empty() ? "IP:" : ",IP:") + ip;
  for (const std::string& dns : dns_sans) names += (names.empty() ? "DNS:" : ",DNS:") + dns;
  return IssueLeaf(ca, common_name, {}, "serverAuth", names);
}

KeyPair IssueClientCert(const KeyPair& ca, const std::string& common_name,
                        const std::vector<std::string>& organizations) {
  return IssueLeaf(ca, common_name, organizations, "clientAuth", "");
}

SigningKey GenerateSigningKey() {
  const Key key = NewKey();
  return SigningKey{PrivatePem(key.get()), PublicPem(key.get())};
}

TestPki GenerateTestPki(const std::string& client_common_name) {
  TestPki pki;
  pki.ca = GenerateCa("kubecnn-test-ca");
  pki.server = IssueServerCert(pki.ca, "kube-apiserver", {"127.0.0.1"}, {"localhost"});
  pki.client = IssueClientCert(pki.ca, client_common_name);
  return pki;
}

}  // namespace kubecnn::testing
