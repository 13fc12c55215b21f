// The YAML under manifests/: the CRD's schema accepts every example and every field the typed API
// writes (and rejects what it should), its defaults agree with the operator's, the printer columns
// point at real status fields, the examples pass the operator's validation, RBAC grants exactly
// what the controller uses, and the Deployment runs two leader-electing replicas with probes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "operator/api/defaults.h"
#include "operator/api/training_job.h"
#include "operator/api/validation.h"
#include "tests/support/yaml_documents.h"

namespace kubecnn::api {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const fs::path kManifests = fs::path(KUBECNN_SOURCE_DIR) / "manifests";

std::vector<json> LoadAll(const fs::path& path) { return kubecnn::testing::LoadYamlDocuments(path.string()); }

json CrdSchema() {
  const std::vector<json> docs = LoadAll(kManifests / "crd" / "kubecnn.io_trainingjobs.yaml");
  return docs.at(0)["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

// A small structural-schema checker: types, int-or-string, enums, patterns, bounds, required fields,
// and unknown fields (allowed only under x-kubernetes-preserve-unknown-fields or additionalProperties).
void Check(const json& schema, const json& value, const std::string& path, std::vector<std::string>* errors) {
  const auto fail = [&](const std::string& what) { errors->push_back(path + ": " + what); };
  if (schema.value("x-kubernetes-int-or-string", false)) {
    if (!value.is_number_integer() && !value.is_string()) fail("expected an integer or a string");
    return;
  }
  const std::string type = schema.value("type", "");
  if (type == "object") {
    if (!value.is_object()) return fail("expected an object, got " + value.dump());
    for (const std::string& field : schema.value("required", std::vector<std::string>{})) {
      if (!value.contains(field)) fail("required field " + field + " missing");
    }
    if (path == "metadata") return;  // ObjectMeta: validated by the API server itself
    for (const auto& [key, child] : value.items()) {
      const std::string at = path.empty() ? key : path + "." + key;
      if (schema.contains("properties") && schema["properties"].contains(key)) {
        Check(schema["properties"][key], child, at, errors);
      } else if (schema.contains("additionalProperties")) {
        Check(schema["additionalProperties"], child, at, errors);
      } else if (!schema.value("x-kubernetes-preserve-unknown-fields", false)) {
        errors->push_back(at + ": unknown field (the API server would prune it)");
      }
    }
  } else if (type == "array") {
    if (!value.is_array()) return fail("expected a list");
    for (size_t i = 0; i < value.size(); ++i)
      Check(schema["items"], value[i], path + "[" + std::to_string(i) + "]", errors);
  } else if (type == "string") {
    if (!value.is_string()) return fail("expected a string, got " + value.dump());
    const std::string s = value.get<std::string>();
    if (schema.contains("enum") &&
        std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end()) {
      fail("\"" + s + "\" is not one of " + schema["enum"].dump());
    }
    if (schema.contains("pattern") && !std::regex_search(s, std::regex(schema["pattern"].get<std::string>()))) {
      fail("\"" + s + "\" does not match " + schema["pattern"].get<std::string>());
    }
    if (schema.contains("minLength") && s.size() < schema["minLength"].get<size_t>()) fail("too short");
  } else if (type == "integer" || type == "number") {
    if (type == "integer" ? !value.is_number_integer() : !value.is_number()) return fail("expected " + type);
    const double v = value.get<double>();
    if (schema.contains("minimum") && v < schema["minimum"].get<double>()) fail("below the minimum");
    if (schema.contains("maximum")) {
      const double max = schema["maximum"].get<double>();
      if (schema.value("exclusiveMaximum", false) ? v >= max : v > max) fail("above the maximum");
    }
  } else if (type == "boolean") {
    if (!value.is_boolean()) fail("expected true or false");
  }
}

std::vector<std::string> Errors(const json& object) {
  std::vector<std::string> errors;
  Check(CrdSchema(), object, "", &errors);
  return errors;
}

std::string Joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const std::string& e : errors) out += e + "\n";
  return out;
}

TEST(Crd, DeclaresTheApiWithStatusSubresourceAndPrinterColumns) {
  const json crd = LoadAll(kManifests / "crd" / "kubecnn.io_trainingjobs.yaml").at(0);
  EXPECT_EQ(crd["metadata"]["name"], "trainingjobs.kubecnn.io");
  EXPECT_EQ(crd["spec"]["group"], kGroup);
  EXPECT_EQ(crd["spec"]["names"]["kind"], kKind);
  const json& version = crd["spec"]["versions"][0];
  EXPECT_EQ(version["name"], kVersion);
  EXPECT_TRUE(version["subresources"].contains("status"));
  std::vector<std::string> names;
  for (const json& column : version["additionalPrinterColumns"]) {
    names.push_back(column["name"]);
    if (column["name"] == "AGE") continue;
    // Each column's path leads to a status field of the column's type.
    json node = version["schema"]["openAPIV3Schema"];
    std::stringstream path(column["jsonPath"].get<std::string>().substr(1));
    for (std::string part; std::getline(path, part, '.');) {
      ASSERT_TRUE(node["properties"].contains(part)) << column["jsonPath"] << " is not in the schema";
      node = node["properties"][part];
    }
    EXPECT_EQ(node["type"], column["type"]) << column["name"];
  }
  EXPECT_EQ(names, (std::vector<std::string>{"PHASE", "WORKERS", "EPOCH", "IMG/S", "TOP1", "AGE"}));
}

// The trainer resumes a checkpoint only at the world size that wrote it: the API server refuses a
// resize with a message that says so (a CEL transition rule; the planner refuses it too).
TEST(Crd, WorldSizeIsImmutableWithAMessageSayingWhy) {
  const json spec = CrdSchema()["properties"]["spec"]["properties"];
  for (const char* field : {"workers", "slotsPerWorker"}) {
    const json& rules = spec[field]["x-kubernetes-validations"];
    ASSERT_EQ(rules.size(), 1u) << field;
    EXPECT_EQ(rules[0]["rule"], "self == oldSelf") << field;
    EXPECT_NE(rules[0]["message"].get<std::string>().find("world size"), std::string::npos) << field;
    EXPECT_TRUE(spec[field].contains("default"))
        << field << ": defaulted, so the rule sees an old value whenever it can";
  }
}

TEST(Crd, SchemaDefaultsAgreeWithTheOperatorsDefaults) {
  TrainingJobSpec bare;
  bare.image = "i";
  bare.trainer.model = "m";
  bare.storage.s3 = S3StorageSpec{std::nullopt, std::nullopt, "keys", CaBundleRef{"ca", std::nullopt}};  // its key
  const json defaulted = SpecToJson(WithDefaults(bare));
  const json spec_schema = CrdSchema()["properties"]["spec"];
  int checked = 0;
  // Walk the schema: wherever it has a default, the operator's defaulting must give the same value.
  std::function<void(const json&, const json&, const std::string&)> walk = [&](const json& schema, const json& value,
                                                                               const std::string& path) {
    if (schema.contains("default")) {
      ++checked;
      EXPECT_EQ(value, schema["default"]) << path;
    }
    if (!schema.contains("properties")) return;
    for (const auto& [key, child] : schema["properties"].items()) {
      walk(child, value.is_object() && value.contains(key) ? value[key] : json(), path + "." + key);
    }
  };
  walk(spec_schema, defaulted, "spec");
  EXPECT_GE(checked, 10);
}

TEST(Crd, SchemaHoldsEveryFieldTheTypedApiWrites) {
  TrainingJob job;
  job.metadata = {{"name", "x"}};
  job.spec = SpecFromJson(json::parse(R"({
    "mode": "Train", "image": "i", "imagePullPolicy": "Always", "workers": 2, "slotsPerWorker": 8,
    "resources": {"limits": {"nvidia.com/gpu": 8, "memory": "1Gi"}, "requests": {"cpu": "1"}},
    "trainer": {"model": "resnet50", "dataDir": "/d", "logDir": "/c", "batchSize": 1, "numEpochs": 1,
                "numBatches": 1, "numClasses": 1, "precision": "fp16", "learningRate": 0.1, "lrSchedule": "cosine",
                "optimizer": "lars", "momentum": 0.9, "nesterov": true, "weightDecay": 0.1, "labelSmoothing": 0.1,
                "larc": {"mode": "clip", "eta": 0.1}, "lossScale": "dynamic", "displayEvery": 1,
                "saveIntervalSeconds": 1, "numDataThreads": 1, "extraArgs": ["--channels_last"]},
    "volumes": {"data": {"nfs": {"server": "s", "path": "/"}}, "checkpoints": {"emptyDir": {}}},
    "storage": {"s3": {"endpoint": "https://rgw.ceph.svc:443", "region": "us-east-1", "credentialsSecret": "s",
                       "caBundle": {"configMap": "ca", "key": "ca.pem"}}},
    "podTemplate": {"metadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}}, "spec": {"hostNetwork": true}},
    "runPolicy": {"backoffLimit": 1, "activeDeadlineSeconds": 1, "ttlSecondsAfterFinished": 1,
                  "cleanPodPolicy": "All", "suspend": true},
    "scheduling": {"gang": "Volcano", "schedulerName": "volcano", "queue": "q", "priorityClassName": "p",
                   "scheduleTimeoutSeconds": 1},
    "evaluation": {"enabled": true, "batchSize": 1, "dataDir": "/v", "checkpoint": "/c/x"}})"));
  job.status.phase = "Running";
  job.status.conditions.push_back({"Running", "True", "R", "m", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"});
  job.status.observed_generation = 1;
  job.status.start_time = job.status.completion_time = job.status.training_completion_time = job.status.retry_after =
      "2026-01-01T00:00:00Z";
  job.status.attempt = job.status.restarts = job.status.admission_retries = 1;
  job.status.progress = Progress{1, 2, 3, 4.0, 5.0, 6.0, "/c/ckpt", "2026-01-01T00:00:00Z"};
  job.status.evaluation = EvaluationResult{0.7, 0.9, 50000, 3, "/c/ckpt", "2026-01-01T00:00:00Z"};
  const json object = ToJson(job);
  EXPECT_EQ(Errors(object), std::vector<std::string>{}) << Joined(Errors(object));
}

TEST(Crd, SchemaCheckerRejectsWhatTheApiServerWould) {
  const json good = LoadAll(kManifests / "examples" / "resnet50.yaml").at(0);
  const struct {
    std::string pointer;
    json value;
    std::string error;
  } cases[] = {
      {"/spec/workers", "4", "spec.workers: expected integer"},
      {"/spec/workers", 0, "spec.workers: below the minimum"},
      {"/spec/trainer/precision", "fp8", "spec.trainer.precision: \"fp8\" is not one of"},
      {"/spec/trainer/batchSizes", 3, "spec.trainer.batchSizes: unknown field"},
      {"/spec/trainer/extraArgs", json::array({"-x"}), "spec.trainer.extraArgs[0]: \"-x\" does not match"},
      {"/spec/trainer/momentum", 1.0, "spec.trainer.momentum: above the maximum"},
      {"/spec/trainer/lossScale", 1.5, "spec.trainer.lossScale: expected an integer or a string"},
      {"/spec/storage",
       {{"s3", {{"endpoint", "rgw:80"}, {"credentialsSecret", "s"}}}},
       "spec.storage.s3.endpoint: \"rgw:80\" does not match"},
      {"/spec/storage",
       {{"s3", {{"endpoint", "http://key:secret@rgw:80"}, {"credentialsSecret", "s"}}}},
       "spec.storage.s3.endpoint: "},
      {"/spec/storage",
       {{"s3", {{"region", "us-east-1"}}}},
       "spec.storage.s3: required field credentialsSecret missing"},
      {"/spec/storage",
       {{"s3", {{"credentialsSecret", "s"}, {"caBundle", {{"key", "ca.crt"}}}}}},
       "spec.storage.s3.caBundle: required field configMap missing"},
      {"/spec/storage", {{"gcs", json::object()}}, "spec.storage.gcs: unknown field"},
  };
  for (const auto& c : cases) {
    json bad = good;
    bad[json::json_pointer(c.pointer)] = c.value;
    const std::string errors = Joined(Errors(bad));
    EXPECT_NE(errors.find(c.error), std::string::npos) << c.pointer << " -> " << errors;
  }
  json missing = good;
  missing["spec"]["trainer"].erase("model");
  EXPECT_NE(Joined(Errors(missing)).find("spec.trainer: required field model missing"), std::string::npos);
}

TEST(Examples, EachPassesTheSchemaAndTheOperatorsValidation) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(kManifests / "examples")) {
    for (const json& object : LoadAll(entry.path())) {
      SCOPED_TRACE(entry.path().filename().string());
      EXPECT_EQ(object["apiVersion"], kApiVersion);
      EXPECT_EQ(object["kind"], kKind);
      EXPECT_EQ(Errors(object), std::vector<std::string>{}) << Joined(Errors(object));
      TrainingJob job = TrainingJobFromJson(object);
      job.spec = WithDefaults(job.spec);
      EXPECT_EQ(Validate(job), std::vector<FieldError>{}) << Describe(Validate(job));
      names.insert(job.Name() + ":" + *job.spec.mode + ":" + job.spec.trainer.model);
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"resnet50:Train:resnet50", "inception3:Train:inception3",
                                          "resnet50-step:Train:resnet50", "resnet50-eval:Evaluate:resnet50",
                                          "fashion-mnist:Train:resnet18", "resnet50-s3:Train:resnet50"}));
}

// The object-store example: shards and checkpoints in buckets, no volumes, and the comment's
// `kubectl create secret` makes the Secret the job names, with the keys the trainer reads.
TEST(Examples, S3ExampleKeepsShardsAndCheckpointsInTheBucket) {
  const fs::path path = kManifests / "examples" / "resnet50-s3.yaml";
  const TrainingJob job = TrainingJobFromJson(LoadAll(path).at(0));
  ASSERT_TRUE(job.spec.storage.s3);
  EXPECT_EQ(job.spec.trainer.data_dir.value_or("").rfind("s3://", 0), 0u);
  EXPECT_EQ(job.spec.trainer.log_dir.value_or("").rfind("s3://", 0), 0u);
  EXPECT_TRUE(job.spec.evaluation.enabled.value_or(false)) << "evaluation reads the checkpoint from the bucket";
  const DefaultedSpec d = Defaulted(job.spec);
  EXPECT_TRUE(d.volumes.data.is_null());
  EXPECT_TRUE(d.volumes.checkpoints.is_null()) << "no checkpoint volume: the bucket holds them";
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string create = "kubectl create secret generic " + job.spec.storage.s3->credentials_secret;
  EXPECT_NE(text.find(create), std::string::npos) << "the comment creates the Secret the job names: " << create;
  for (const char* key : {"--from-literal=AWS_ACCESS_KEY_ID=", "--from-literal=AWS_SECRET_ACCESS_KEY="}) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
  }
}

TEST(Rbac, GrantsExactlyWhatTheControllerUses) {
  std::map<std::string, std::set<std::string>> granted;  // "group/resource" -> verbs
  std::string service_account;
  for (const auto& entry : fs::directory_iterator(kManifests / "rbac")) {
    for (const json& object : LoadAll(entry.path())) {
      if (object["kind"] == "ServiceAccount") service_account = object["metadata"]["name"];
      if (object["kind"] != "ClusterRole" && object["kind"] != "Role") continue;
      for (const json& rule : object["rules"]) {
        for (const json& group : rule["apiGroups"]) {
          for (const json& resource : rule["resources"]) {
            for (const json& verb : rule["verbs"]) {
              EXPECT_NE(verb, "*") << "no wildcard verbs";
              EXPECT_NE(resource, "*") << "no wildcard resources";
              granted[group.get<std::string>() + "/" + resource.get<std::string>()].insert(verb.get<std::string>());
            }
          }
        }
      }
    }
  }
  const std::set<std::string> child = {"get", "list", "watch", "create", "delete"};
  const std::map<std::string, std::set<std::string>> needed = {
      {"kubecnn.io/trainingjobs", {"get", "list", "watch", "delete"}},
      {"kubecnn.io/trainingjobs/status", {"update"}},
      {"kubecnn.io/trainingjobs/finalizers",
       {"update"}},  // blockOwnerDeletion under OwnerReferencesPermissionEnforcement
      {"/pods", child},
      {"/services", child},
      {"/secrets", {"create"}},  // never read: the operator cannot read every Secret of the cluster
      {"/configmaps", {"get", "list", "watch", "create", "update", "delete"}},
      {"/events", {"create", "patch"}},
      {"coordination.k8s.io/leases", {"get", "create", "update"}},
      {"scheduling.volcano.sh/podgroups", child},
      {"scheduling.x-k8s.io/podgroups", child},
  };
  EXPECT_EQ(granted, needed);
  EXPECT_EQ(service_account, "kubecnn-operator");
}

TEST(OperatorDeployment, TwoLeaderElectingReplicasWithProbesAndMetrics) {
  const std::vector<json> docs = LoadAll(kManifests / "operator" / "deployment.yaml");
  const json& deployment = docs.at(0);
  ASSERT_EQ(deployment["kind"], "Deployment");
  EXPECT_EQ(deployment["spec"]["replicas"], 2);
  const json& pod = deployment["spec"]["template"]["spec"];
  EXPECT_EQ(pod["serviceAccountName"], "kubecnn-operator");
  const json& c = pod["containers"][0];
  const std::vector<std::string> args = c["args"];
  EXPECT_NE(std::find(args.begin(), args.end(), "--leader_elect=true"), args.end());
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"], "/readyz");
  std::map<std::string, int> ports;
  for (const json& p : c["ports"]) ports[p["name"]] = p["containerPort"];
  EXPECT_EQ(ports["metrics"], 8080);
  EXPECT_EQ(ports["health"], 8081);
  EXPECT_NE(std::find(args.begin(), args.end(), "--metrics_port=8080"), args.end());
  EXPECT_NE(std::find(args.begin(), args.end(), "--health_port=8081"), args.end());
  EXPECT_EQ(docs.at(1)["kind"], "Service");
}

}  // namespace
}  // namespace kubecnn::api
