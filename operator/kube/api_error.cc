// ApiError construction from response bodies, and the hints attached to each failure kind.
#include "operator/kube/api_error.h"

namespace kubecnn::kube {

ApiError::ApiError(int code, std::string reason, std::string server_message, nlohmann::json status,
                   const std::string& what)
    : std::runtime_error(what),
      code_(code),
      reason_(std::move(reason)),
      server_message_(std::move(server_message)),
      status_(std::move(status)) {}

std::string HintFor(int code, const std::string& reason) {
  switch (code) {
    case 400: return "the request was malformed: check selectors, patch bodies and field names";
    case 401:
      return "the credentials were refused: check the kubeconfig user's token or client certificate, or that the "
             "service-account token is mounted and not expired";
    case 403:
      return "forbidden: grant the operator's service account this verb on this resource (see the RBAC manifests)";
    case 404: return "not found: check the namespace and name, and that the CRD is installed (kubectl get crd)";
    case 405: return "the server does not allow this verb on this path";
    case 409:
      if (reason == "AlreadyExists") return "an object with this name exists: get and update it instead";
      return "the object changed since it was read: re-read it and apply the change again";
    case 410: return "the resourceVersion or continue token is too old: list again from the start";
    case 415: return "the server does not accept this patch type";
    case 422: return "the object is invalid: fix the fields named in the message";
    case 429: return "the API server is throttling clients: lower the client QPS or wait";
    default:
      if (code >= 500) {
        return "the API server failed (reads, and writes it answered with Retry-After, are retried with back-off); "
               "check the control plane if it persists";
      }
      return "";
  }
}

ApiError MakeApiError(const std::string& action, int code, const std::string& body) {
  nlohmann::json status = nlohmann::json::parse(body, nullptr, false);
  std::string reason, message;
  if (status.is_object() && status.value("kind", "") == "Status") {
    reason = status.value("reason", "");
    message = status.value("message", "");
  } else {
    status = nullptr;
    message = body.substr(0, 300);
    if (message.empty()) message = "(empty response body)";
  }
  std::string what = action + ": " + message + " (HTTP " + std::to_string(code);
  if (!reason.empty()) what += ", reason " + reason;
  what += ")";
  const std::string hint = HintFor(code, reason);
  if (!hint.empty()) what += "; " + hint;
  return ApiError(code, reason, message, status, what);
}

namespace {
const ApiError* AsApi(const std::exception& e) { return dynamic_cast<const ApiError*>(&e); }
}  // namespace

bool IsNotFound(const std::exception& e) { return AsApi(e) && AsApi(e)->code() == 404; }
bool IsAlreadyExists(const std::exception& e) {
  return AsApi(e) && AsApi(e)->code() == 409 && AsApi(e)->reason() == "AlreadyExists";
}
bool IsConflict(const std::exception& e) {
  return AsApi(e) && AsApi(e)->code() == 409 && AsApi(e)->reason() != "AlreadyExists";
}
bool IsGone(const std::exception& e) { return AsApi(e) && AsApi(e)->code() == 410; }
bool IsInvalid(const std::exception& e) { return AsApi(e) && AsApi(e)->code() == 422; }

bool IsForbidden(const std::exception& e) { return AsApi(e) && AsApi(e)->code() == 403; }

}  // namespace kubecnn::kube
