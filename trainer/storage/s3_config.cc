// S3 configuration from the environment: endpoint, region, CA bundle, retries and credentials.
#include "trainer/storage/s3_config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "trainer/storage/storage.h"

namespace kubecnn::storage {
namespace {

std::string Trim(std::string s) {
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

std::optional<std::string> NonEmpty(const EnvLookup& env, const std::string& name) {
  auto value = env(name);
  if (!value || Trim(*value).empty()) return std::nullopt;
  return Trim(*value);
}

int PositiveInt(const EnvLookup& env, const std::string& name, int fallback) {
  const auto text = NonEmpty(env, name);
  if (!text) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text->c_str(), &end, 10);
  if (*end != '\0' || value < 1 || value > 1000) {
    throw StorageError(name + "=" + *text + " is not a whole number from 1 to 1000");
  }
  return static_cast<int>(value);
}

// The [profile] section of an AWS shared credentials file (INI).
std::optional<S3Credentials> FromCredentialsFile(const std::string& text, const std::string& profile) {
  std::istringstream in(text);
  std::string line, section;
  S3Credentials c;
  bool found = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
      continue;
    }
    if (section != profile) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, eq));
    const std::string value = Trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value, found = true;
    if (key == "aws_secret_access_key") c.secret_access_key = value, found = true;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (!found) return std::nullopt;
  return c;
}

std::optional<WebIdentity> ResolveWebIdentity(const EnvLookup& env, const std::string& region) {
  const auto token_file = NonEmpty(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  const auto role_arn = NonEmpty(env, "AWS_ROLE_ARN");
  if (!token_file && !role_arn) return std::nullopt;
  if (!token_file || !role_arn) {
    throw StorageError(std::string("S3 credentials: ") +
                       (token_file ? "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not"
                                   : "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not") +
                       " (web identity needs both; EKS sets them for a service account annotated with a role)");
  }
  WebIdentity w{*token_file, *role_arn, NonEmpty(env, "AWS_ROLE_SESSION_NAME").value_or("kubecnn-trainer"),
                NonEmpty(env, "AWS_ENDPOINT_URL_STS").value_or("https://sts." + region + ".amazonaws.com")};
  while (!w.sts_endpoint.empty() && w.sts_endpoint.back() == '/') w.sts_endpoint.pop_back();
  return w;
}

S3Credentials ResolveCredentials(const EnvLookup& env, const FileReader& read_file, bool web_identity) {
  const auto key_id = NonEmpty(env, "AWS_ACCESS_KEY_ID");
  const auto secret = NonEmpty(env, "AWS_SECRET_ACCESS_KEY");
  if (key_id || secret) {
    if (!key_id || !secret) {
      throw StorageError(std::string("S3 credentials: ") +
                         (key_id ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                                 : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not") +
                         " (set both, e.g. from the same Secret)");
    }
    S3Credentials c{*key_id, *secret, NonEmpty(env, "AWS_SESSION_TOKEN").value_or(""),
                    "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"};
    return c;
  }
  // botocore's order: the environment's keys, then web identity, then the shared credentials file.
  if (web_identity) return S3Credentials{};  // fetched from STS on first use
  std::string file = NonEmpty(env, "AWS_SHARED_CREDENTIALS_FILE").value_or("");
  if (file.empty()) {
    if (const auto home = NonEmpty(env, "HOME")) file = *home + "/.aws/credentials";
  }
  const std::string profile = NonEmpty(env, "AWS_PROFILE").value_or("default");
  if (!file.empty()) {
    if (const auto text = read_file(file)) {
      auto c = FromCredentialsFile(*text, profile);
      if (!c) {
        throw StorageError(
            "S3 credentials: " + file + " has no profile [" + profile +
            "] with aws_access_key_id (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
      }
      if (c->access_key_id.empty() || c->secret_access_key.empty()) {
        throw StorageError("S3 credentials: profile [" + profile + "] of " + file +
                           " needs both aws_access_key_id and aws_secret_access_key");
      }
      c->source = "shared credentials file " + file + " (profile " + profile + ")";
      return *c;
    }
  }
  throw StorageError(
      "no S3 credentials: tried the environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, " +
      (file.empty() ? std::string("no credentials file (HOME is not set)") : "the file " + file) +
      " and web identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN) (set the two keys, e.g. from a Secret, "
      "write that file, or give the pod a service account bound to an IAM role)");
}

}  // namespace

S3Config ResolveS3Config(const EnvLookup& env, const FileReader& read_file) {
  S3Config config;
  config.region = NonEmpty(env, "AWS_REGION").value_or(NonEmpty(env, "AWS_DEFAULT_REGION").value_or(config.region));
  auto endpoint = NonEmpty(env, "AWS_ENDPOINT_URL_S3");
  std::string endpoint_variable = "AWS_ENDPOINT_URL_S3";
  if (!endpoint) {
    endpoint = NonEmpty(env, "AWS_ENDPOINT_URL");
    endpoint_variable = "AWS_ENDPOINT_URL";
  }
  if (endpoint) {
    std::string url = *endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      throw StorageError(endpoint_variable + "=" + *endpoint +
                         " is not an http:// or https:// URL (e.g. http://rook-ceph-rgw.rook-ceph:80)");
    }
    config.endpoint = url;
    config.path_style = true;  // what Ceph RGW, MinIO and most custom endpoints expect
  } else {
    config.endpoint = "https://s3." + config.region + ".amazonaws.com";
  }
  config.ca_bundle = NonEmpty(env, "AWS_CA_BUNDLE").value_or("");
  if (!config.ca_bundle.empty() && !read_file(config.ca_bundle)) {
    throw StorageError("AWS_CA_BUNDLE=" + config.ca_bundle + " cannot be read (mount the CA's PEM file there)");
  }
  config.max_attempts = PositiveInt(env, "AWS_MAX_ATTEMPTS", config.max_attempts);
  config.stall_timeout_seconds = PositiveInt(env, "KUBECNN_S3_STALL_TIMEOUT_SECONDS", config.stall_timeout_seconds);
  config.connect_timeout_seconds = std::min(config.connect_timeout_seconds, config.stall_timeout_seconds);
  config.web_identity = ResolveWebIdentity(env, config.region);
  config.credentials = ResolveCredentials(env, read_file, config.web_identity.has_value());
  if (config.credentials.access_key_id.empty() && config.web_identity) {
    config.credentials.source =
        "web identity token " + config.web_identity->token_file + " (role " + config.web_identity->role_arn + ")";
  } else {
    config.web_identity.reset();  // the environment's keys win
  }
  return config;
}

S3Config S3ConfigFromEnvironment() {
  const EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
  const FileReader read_file = [](const std::string& path) -> std::optional<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return ResolveS3Config(env, read_file);
}

}  // namespace kubecnn::storage
