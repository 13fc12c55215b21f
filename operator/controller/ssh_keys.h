// The per-job SSH identity mpirun uses to reach the workers: an ECDSA P-256 key pair made with
// OpenSSL, the private key in PEM (OpenSSH reads it) and the public key in authorized_keys form.
#pragma once

#include <string>

namespace kubecnn::controller {

struct SshKeyPair {
  std::string private_key_pem;  // "-----BEGIN EC PRIVATE KEY-----..."
  std::string public_key;       // "ecdsa-sha2-nistp256 AAAA... kubecnn"
};

// Throws std::runtime_error with OpenSSL's reason when key generation fails.
SshKeyPair GenerateSshKeyPair(const std::string& comment = "kubecnn");

// The SSH wire-format blob of an authorized_keys line, base64-decoded ("" when malformed); for tests.
std::string DecodeAuthorizedKeyBlob(const std::string& public_key);

}  // namespace kubecnn::controller
