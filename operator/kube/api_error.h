// Errors from the Kubernetes API: the HTTP code and the server's metav1.Status, with what the
// client was doing and a hint on what to do about it.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace kubecnn::kube {

class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, std::string server_message, nlohmann::json status, const std::string& what);
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }                  // "Conflict", "NotFound", ...
  const std::string& server_message() const { return server_message_; }  // Status.message as sent
  const nlohmann::json& status() const { return status_; }               // the Status object, or null

 private:
  int code_;
  std::string reason_;
  std::string server_message_;
  nlohmann::json status_;
};

// The connection failed (refused, reset, TLS handshake, timeout) before a response arrived.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An answer over the transport's size limits (HttpLimits): asking again would get the same, so it
// is not retried.
class AnswerTooLarge : public TransportError {
 public:
  using TransportError::TransportError;
};

// Builds the error for a non-2xx response to `action` ("PUT /api/v1/namespaces/a/pods/b"): the
// Status message when the body is one, else the start of the body; then a hint for the code.
ApiError MakeApiError(const std::string& action, int code, const std::string& body);

// What to do about a code/reason, in words ("" when nothing useful can be said).
std::string HintFor(int code, const std::string& reason);

bool IsNotFound(const std::exception& e);
bool IsAlreadyExists(const std::exception& e);
bool IsConflict(const std::exception& e);   // 409 Conflict (stale resourceVersion), not AlreadyExists
bool IsGone(const std::exception& e);       // 410: resourceVersion or continue token expired
bool IsInvalid(const std::exception& e);    // 422
bool IsForbidden(const std::exception& e);  // 403: RBAC or an admission plugin refused

}  // namespace kubecnn::kube
