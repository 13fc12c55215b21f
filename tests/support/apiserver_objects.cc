// Kinds, Status errors, validation and apply field sets of the fake kube-apiserver. Messages
// follow k8s.io/apimachinery/pkg/api/errors so clients see what a real server would send.
#include "tests/support/apiserver_objects.h"

#include <chrono>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <regex>

#include "operator/kube/base64.h"

namespace kubecnn::testing {
namespace {

std::mutex g_random_mu;
std::mt19937_64& Rng() {
  static std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

const std::regex kDnsSubdomain("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
const std::regex kDnsLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
const std::regex kDns1035Label("[a-z]([-a-z0-9]*[a-z0-9])?");

struct Cause {
  std::string reason;  // FieldValueRequired, FieldValueInvalid
  std::string field;
  std::string message;
};

[[noreturn]] void Invalid(const ApiKind& kind, const std::string& name, const std::vector<Cause>& causes) {
  std::string message = kind.kind + " \"" + name + "\" is invalid: ";
  nlohmann::json details = {{"name", name}, {"kind", kind.kind}, {"causes", nlohmann::json::array()}};
  if (!kind.group.empty()) details["group"] = kind.group;
  for (size_t i = 0; i < causes.size(); ++i) {
    if (causes.size() > 1) message += i == 0 ? "[" : ", ";
    message += causes[i].field + ": " + causes[i].message;
    details["causes"].push_back(
        {{"reason", causes[i].reason}, {"message", causes[i].message}, {"field", causes[i].field}});
  }
  if (causes.size() > 1) message += "]";
  throw ApiError(422, "Invalid", message, details);
}

void CheckName(const ApiKind& kind, const std::string& name, std::vector<Cause>* causes) {
  if (kind.kind == "Service" && !(name.size() <= 63 && std::regex_match(name, kDns1035Label))) {
    causes->push_back({"FieldValueInvalid", "metadata.name",
                       "Invalid value: \"" + name +
                           "\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                           "with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  "
                           "or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"});
  } else if (kind.kind == "Namespace" && !(name.size() <= 63 && std::regex_match(name, kDnsLabel))) {
    causes->push_back({"FieldValueInvalid", "metadata.name",
                       "Invalid value: \"" + name +
                           "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                           "'-', and must start and end with an alphanumeric character"});
  } else if (!(name.size() <= 253 && std::regex_match(name, kDnsSubdomain))) {
    causes->push_back({"FieldValueInvalid", "metadata.name",
                       "Invalid value: \"" + name +
                           "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                           "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
                           "regex used for validation is "
                           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"});
  }
}

bool Unbase64(const std::string& in, std::string* out) {
  std::optional<std::string> decoded = kube::Base64Decode(in);
  if (!decoded || in.empty()) return false;
  *out = std::move(*decoded);
  return true;
}

void CollectLeaves(const nlohmann::json& value, const std::string& pointer, std::set<std::string>* out) {
  if (value.is_object() && !value.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      std::string key = it.key();
      std::string escaped;
      for (char c : key) escaped += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
      CollectLeaves(it.value(), pointer + "/" + escaped, out);
    }
  } else if (!pointer.empty()) {
    out->insert(pointer);
  }
}

}  // namespace

const std::vector<ApiKind>& ApiKinds() {
  static const std::vector<ApiKind> kinds = {
      {"", "v1", "pods", "Pod", true, true, false, true},
      {"", "v1", "services", "Service", true, true, false, true},
      {"", "v1", "configmaps", "ConfigMap", true, false, false, true},
      {"", "v1", "secrets", "Secret", true, false, false, true},
      {"", "v1", "events", "Event", true, false, false, true},
      {"", "v1", "namespaces", "Namespace", false, true, false, true},
      {"coordination.k8s.io", "v1", "leases", "Lease", true, false, false, true},
      {"scheduling.volcano.sh", "v1beta1", "podgroups", "PodGroup", true, true, true, false},
      {"scheduling.x-k8s.io", "v1alpha1", "podgroups", "PodGroup", true, true, true, false},
      {"kubecnn.io", "v1alpha1", "trainingjobs", "TrainingJob", true, true, true, false},
  };
  return kinds;
}

const ApiKind* FindKind(const std::string& group, const std::string& version, const std::string& plural) {
  for (const ApiKind& k : ApiKinds()) {
    if (k.group == group && k.version == version && k.plural == plural) return &k;
  }
  return nullptr;
}

nlohmann::json StatusBody(int code, const std::string& reason, const std::string& message,
                          const nlohmann::json& details) {
  nlohmann::json status = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
                           {"status", "Failure"}, {"message", message}, {"reason", reason},
                           {"code", code}};
  if (!details.is_null()) status["details"] = details;
  return status;
}

ApiError::ApiError(int code, std::string reason, const std::string& message, nlohmann::json details)
    : std::runtime_error(message), code_(code), status_(StatusBody(code, reason, message, details)) {}

namespace {
nlohmann::json ResourceDetails(const ApiKind& kind, const std::string& name) {
  nlohmann::json d = {{"name", name}, {"kind", kind.plural}};
  if (!kind.group.empty()) d["group"] = kind.group;
  return d;
}
std::string Qualified(const ApiKind& kind) { return kind.group.empty() ? kind.plural : kind.plural + "." + kind.group; }
}  // namespace

ApiError NotFound(const ApiKind& kind, const std::string& name) {
  return ApiError(404, "NotFound", Qualified(kind) + " \"" + name + "\" not found", ResourceDetails(kind, name));
}
ApiError AlreadyExists(const ApiKind& kind, const std::string& name) {
  return ApiError(409, "AlreadyExists", Qualified(kind) + " \"" + name + "\" already exists",
                  ResourceDetails(kind, name));
}
ApiError Conflict(const ApiKind& kind, const std::string& name, const std::string& why) {
  return ApiError(409, "Conflict", "Operation cannot be fulfilled on " + Qualified(kind) + " \"" + name + "\": " + why,
                  ResourceDetails(kind, name));
}
ApiError BadRequest(const std::string& message) { return ApiError(400, "BadRequest", message); }
ApiError Gone(const std::string& message) { return ApiError(410, "Expired", message); }

void Validate(const ApiKind& kind, const nlohmann::json& object) {
  const nlohmann::json meta = object.value("metadata", nlohmann::json::object());
  const std::string name = meta.value("name", "");
  std::vector<Cause> causes;
  if (name.empty()) {
    causes.push_back({"FieldValueRequired", "metadata.name", "Required value: name or generateName is required"});
  } else {
    CheckName(kind, name, &causes);
  }
  if (meta.contains("labels") && meta["labels"].is_object()) {
    for (auto it = meta["labels"].begin(); it != meta["labels"].end(); ++it) {
      if (!IsValidLabelKey(it.key())) {
        causes.push_back({"FieldValueInvalid", "metadata.labels",
                          "Invalid value: \"" + it.key() +
                              "\": name part must consist of alphanumeric characters, "
                              "'-', '_' or '.', and must start and end with an "
                              "alphanumeric character"});
      }
      if (!it.value().is_string() || !IsValidLabelValue(it.value().get<std::string>())) {
        causes.push_back({"FieldValueInvalid", "metadata.labels",
                          "Invalid value: " + it.value().dump() +
                              ": a valid label must be an empty string or consist of alphanumeric characters, '-', "
                              "'_' or '.', and must start and end with an alphanumeric character"});
      }
    }
  }
  if (kind.kind == "Pod") {
    const nlohmann::json containers =
        object.value("spec", nlohmann::json::object()).value("containers", nlohmann::json());
    if (!containers.is_array() || containers.empty()) {
      causes.push_back({"FieldValueRequired", "spec.containers", "Required value"});
    } else {
      for (size_t i = 0; i < containers.size(); ++i) {
        const std::string at = "spec.containers[" + std::to_string(i) + "]";
        if (containers[i].value("name", "").empty())
          causes.push_back({"FieldValueRequired", at + ".name", "Required value"});
        if (containers[i].value("image", "").empty())
          causes.push_back({"FieldValueRequired", at + ".image", "Required value"});
      }
    }
  }
  if (kind.kind == "Lease") {
    const nlohmann::json spec = object.value("spec", nlohmann::json::object());
    if (spec.contains("leaseDurationSeconds") &&
        !(spec["leaseDurationSeconds"].is_number_integer() && spec["leaseDurationSeconds"].get<int64_t>() > 0)) {
      causes.push_back({"FieldValueInvalid", "spec.leaseDurationSeconds",
                        "Invalid value: " + spec["leaseDurationSeconds"].dump() + ": must be greater than 0"});
    }
  }
  if (!causes.empty()) Invalid(kind, name, causes);
}

nlohmann::json SpecPart(const ApiKind& kind, const nlohmann::json& object) {
  nlohmann::json spec = object;
  spec.erase("metadata");
  spec.erase("kind");
  spec.erase("apiVersion");
  if (kind.status_subresource) spec.erase("status");
  return spec;
}

ObjectFilter MakeFilter(const std::string& ns, const std::string& label_selector, const std::string& field_selector) {
  ObjectFilter filter;
  filter.ns = ns;
  try {
    filter.labels = ParseLabelSelector(label_selector);
    filter.fields = ParseFieldSelector(field_selector);
  } catch (const std::invalid_argument& e) {
    throw BadRequest(std::string("unable to parse requirement: ") + e.what());
  }
  for (const FieldRequirement& f : filter.fields) {
    if (f.field != "metadata.name" && f.field != "metadata.namespace") {
      throw BadRequest("\"" + f.field +
                       "\" is not a known field selector: only \"metadata.name\", "
                       "\"metadata.namespace\"");
    }
  }
  return filter;
}

bool Passes(const ObjectFilter& filter, const nlohmann::json& object) {
  const nlohmann::json& meta = object["metadata"];
  if (!filter.ns.empty() && meta.value("namespace", "") != filter.ns) return false;
  for (const FieldRequirement& f : filter.fields) {
    const std::string value = meta.value(f.field == "metadata.name" ? "name" : "namespace", "");
    if ((value == f.value) != f.equals) return false;
  }
  return Matches(filter.labels, meta.value("labels", nlohmann::json()));
}

std::set<std::string> FieldSet(const nlohmann::json& config) {
  std::set<std::string> out;
  CollectLeaves(config, "", &out);
  return out;
}

nlohmann::json FieldsV1(const std::set<std::string>& fields) {
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& pointer : fields) {
    nlohmann::json* node = &out;
    size_t pos = 1;
    while (pos <= pointer.size()) {
      size_t next = pointer.find('/', pos);
      if (next == std::string::npos) next = pointer.size();
      std::string key = pointer.substr(pos, next - pos);
      for (size_t i; (i = key.find("~1")) != std::string::npos;) key.replace(i, 2, "/");
      for (size_t i; (i = key.find("~0")) != std::string::npos;) key.replace(i, 2, "~");
      nlohmann::json& child = (*node)["f:" + key];
      if (child.is_null()) child = nlohmann::json::object();
      node = &child;
      pos = next + 1;
    }
  }
  return out;
}

std::string EncodeContinue(int64_t rv, const std::string& start_key) {
  return kube::Base64Encode(nlohmann::json{{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", start_key}}.dump());
}

void DecodeContinue(const std::string& token, int64_t* rv, std::string* start_key) {
  std::string raw;
  nlohmann::json parsed;
  if (Unbase64(token, &raw)) parsed = nlohmann::json::parse(raw, nullptr, false);
  if (!parsed.is_object() || parsed.value("v", "") != "meta.k8s.io/v1" || !parsed["rv"].is_number_integer() ||
      !parsed["start"].is_string()) {
    throw BadRequest(
        "continue key is not valid: the token was not produced by this server; start the list again "
        "without continue");
  }
  *rv = parsed["rv"].get<int64_t>();
  *start_key = parsed["start"].get<std::string>();
}

std::string Base64Encode(const std::string& bytes) { return kube::Base64Encode(bytes); }

std::string NowRfc3339() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string RandomUid() {
  std::lock_guard<std::mutex> lock(g_random_mu);
  const uint64_t a = Rng()(), b = Rng()();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | (b >> 48 & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string RandomSuffix(size_t n) {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";  // as apiserver's generateName
  std::lock_guard<std::mutex> lock(g_random_mu);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kAlphabet[Rng()() % (sizeof kAlphabet - 1)];
  return out;
}

}  // namespace kubecnn::testing
