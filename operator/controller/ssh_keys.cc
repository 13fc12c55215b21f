// ECDSA P-256 key pairs through OpenSSL 3's EVP API; public key encoded per RFC 5656.
#include "operator/controller/ssh_keys.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>

#include "operator/kube/base64.h"

namespace kubecnn::controller {
namespace {

[[noreturn]] void Fail(const std::string& what) {
  char buf[256] = "unknown error";
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  throw std::runtime_error("generating the job's SSH key pair: " + what + " failed (" + buf +
                           "); check the operator's OpenSSL installation");
}

void PutString(std::string& out, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out += s;
}

}  // namespace

SshKeyPair GenerateSshKeyPair(const std::string& comment) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) Fail("EVP_EC_gen(P-256)");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    Fail("writing the private key as PEM");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  SshKeyPair pair;
  pair.private_key_pem.assign(data, static_cast<size_t>(len));

  unsigned char* point = nullptr;
  const size_t point_len = EVP_PKEY_get1_encoded_public_key(key.get(), &point);
  if (point_len == 0 || !point) Fail("encoding the public key");
  std::string blob;
  PutString(blob, "ecdsa-sha2-nistp256");
  PutString(blob, "nistp256");
  PutString(blob, std::string(reinterpret_cast<char*>(point), point_len));
  OPENSSL_free(point);
  pair.public_key = "ecdsa-sha2-nistp256 " + kube::Base64Encode(blob) + " " + comment;
  return pair;
}

std::string DecodeAuthorizedKeyBlob(const std::string& public_key) {
  const size_t a = public_key.find(' ');
  if (a == std::string::npos) return "";
  size_t b = public_key.find(' ', a + 1);
  if (b == std::string::npos) b = public_key.size();
  return kube::Base64Decode(public_key.substr(a + 1, b - a - 1)).value_or("");
}

}  // namespace kubecnn::controller
