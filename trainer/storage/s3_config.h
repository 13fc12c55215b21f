// Where the S3 backend connects and with which credentials, read from the environment as the AWS
// CLI and SDKs read it. A pure function over an environment lookup and a file reader, so a table
// test covers every source.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace kubecnn::storage {

struct S3Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  // Where they came from, for error messages (never the values): "environment variables
  // AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", "shared credentials file /root/.aws/credentials
  // (profile default)".
  std::string source;
};

// IAM roles for service accounts (EKS) and other OIDC federation: a projected token file traded at
// STS for temporary credentials (AssumeRoleWithWebIdentity), again before they expire.
struct WebIdentity {
  std::string token_file;    // AWS_WEB_IDENTITY_TOKEN_FILE: read again at each exchange (kubelet rotates it)
  std::string role_arn;      // AWS_ROLE_ARN
  std::string session_name;  // AWS_ROLE_SESSION_NAME, default "kubecnn-trainer"
  std::string sts_endpoint;  // AWS_ENDPOINT_URL_STS, default https://sts.<region>.amazonaws.com
};

struct S3Config {
  std::string region = "us-east-1";  // signing region
  std::string endpoint;              // "https://s3.us-east-1.amazonaws.com" or a custom one; no trailing '/'
  bool path_style = false;           // endpoint/bucket/key rather than bucket.endpoint/key
  std::string ca_bundle;             // AWS_CA_BUNDLE: PEM file trusted instead of the system's roots
  int max_attempts = 5;              // AWS_MAX_ATTEMPTS: tries per request, the first included
  int connect_timeout_seconds = 10;
  int stall_timeout_seconds = 30;  // KUBECNN_S3_STALL_TIMEOUT_SECONDS: a transfer moving < 1 KiB/s this long is cut
  S3Credentials credentials;       // empty keys when web_identity is set: fetched on first use
  std::optional<WebIdentity> web_identity;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;

// Reads AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_CA_BUNDLE,
// AWS_MAX_ATTEMPTS and the credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+
// AWS_SESSION_TOKEN), else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
// $HOME/.aws/credentials, profile AWS_PROFILE or "default"), else web identity
// (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN). Throws StorageError saying what is missing or
// malformed, and which sources were tried.
S3Config ResolveS3Config(const EnvLookup& env, const FileReader& read_file);

// The same over the process's environment and files.
S3Config S3ConfigFromEnvironment();

}  // namespace kubecnn::storage
