// CredentialSource: fixed credentials, or STS AssumeRoleWithWebIdentity over libcurl (unsigned,
// as STS wants it), refreshed five minutes before they expire.
#include "trainer/storage/s3_credentials.h"

#include <curl/curl.h>

#include <ctime>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <thread>

#include "trainer/storage/s3_failure.h"
#include "trainer/storage/s3_url.h"
#include "trainer/storage/s3_xml.h"
#include "trainer/storage/storage.h"

namespace kubecnn::storage {
namespace {

constexpr auto kRefreshMargin = std::chrono::minutes(5);

size_t Append(char* data, size_t size, size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() + size * count > (1u << 20)) return 0;  // an STS answer is a few KiB
  body->append(data, size * count);
  return size * count;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseIso8601(const std::string& text) {
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) return std::nullopt;
  const time_t seconds = timegm(&tm);
  if (seconds == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

CredentialSource::CredentialSource(const S3Config& config) : config_(config), current_(config.credentials) {}

S3Credentials CredentialSource::Current() {
  if (!config_.web_identity) return config_.credentials;
  std::lock_guard<std::mutex> lock(mu_);
  if (current_.access_key_id.empty() || std::chrono::system_clock::now() + kRefreshMargin >= expires_) Exchange();
  return current_;
}

void CredentialSource::Exchange() {
  const WebIdentity& w = *config_.web_identity;
  const std::string who = "web identity (role " + w.role_arn + ", token " + w.token_file + ")";
  std::ifstream in(w.token_file, std::ios::binary);
  std::ostringstream token;
  token << in.rdbuf();
  if (!in || token.str().empty()) {
    throw StorageError(who + ": cannot read the token file (is the service account token projected into the pod?)");
  }
  std::string trimmed = token.str();
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) trimmed.pop_back();
  const std::string url = w.sts_endpoint + "/?" +
                          CanonicalQuery({{"Action", "AssumeRoleWithWebIdentity"},
                                          {"DurationSeconds", "3600"},
                                          {"RoleArn", w.role_arn},
                                          {"RoleSessionName", w.session_name},
                                          {"Version", "2011-06-15"},
                                          {"WebIdentityToken", trimmed}});
  std::mt19937_64 random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    CURL* curl = curl_easy_init();
    if (!curl) throw TransientError(who + ": curl_easy_init failed");
    std::string body;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(config_.connect_timeout_seconds));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!config_.ca_bundle.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, config_.ca_bundle.c_str());
      curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    const CURLcode code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    const auto sts_error = code == CURLE_OK ? ParseStsError(body) : std::nullopt;
    const std::string error_code = sts_error ? sts_error->code : "";
    S3Outcome outcome = ClassifyS3(code, status, error_code);
    if (error_code == "IDPCommunicationError" || error_code == "Throttling") outcome = S3Outcome::kRetry;
    if (outcome == S3Outcome::kOk) {
      const auto c = ParseAssumeRoleWithWebIdentity(body);
      const auto expires = c ? ParseIso8601(c->expiration) : std::nullopt;
      if (!c || !expires) {
        throw TransientError(who + ": STS at " + w.sts_endpoint + " answered without usable credentials");
      }
      current_ = S3Credentials{c->access_key_id, c->secret_access_key, c->session_token, config_.credentials.source};
      expires_ = *expires;
      return;
    }
    const std::string problem = code != CURLE_OK ? std::string(error[0] ? error : curl_easy_strerror(code))
                                                 : "HTTP " + std::to_string(status) + " " + error_code;
    if (outcome == S3Outcome::kRetry && attempt < config_.max_attempts) {
      std::this_thread::sleep_for(S3RetryDelay(attempt, std::uniform_real_distribution<double>(0, 1)(random)));
      continue;
    }
    if (outcome == S3Outcome::kRetry) {
      throw TransientError(who + ": STS at " + w.sts_endpoint + ": " + problem + " after " + std::to_string(attempt) +
                           " tries");
    }
    throw StorageError(who + ": STS at " + w.sts_endpoint + " refused the token: " + problem +
                       (sts_error && !sts_error->message.empty() ? " (" + sts_error->message + ")" : "") +
                       " (check the role's trust policy for this service account and the token's audience)");
  }
}

}  // namespace kubecnn::storage
