// The credentials an S3 request is signed with, now: fixed ones (environment, credentials file),
// or temporary ones traded for a web identity token at STS (AssumeRoleWithWebIdentity: EKS IAM
// roles for service accounts) and traded again before they expire. Shared by all threads.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

#include "trainer/storage/s3_config.h"

namespace kubecnn::storage {

// "2026-12-04T07:00:00Z" (or with fractional seconds) as a time; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> ParseIso8601(const std::string& text);

class CredentialSource {
 public:
  explicit CredentialSource(const S3Config& config);
  // Credentials valid for at least the next five minutes. With web identity, throws StorageError
  // when STS refuses the token (naming role and token file, never the token) and TransientError
  // when STS cannot be reached after the configured tries.
  S3Credentials Current();

 private:
  void Exchange();  // under mu_

  S3Config config_;
  mutable std::mutex mu_;
  S3Credentials current_;
  std::chrono::system_clock::time_point expires_{};
};

}  // namespace kubecnn::storage
