// The table of models (see model_registry.h).
#include "trainer/models/model_registry.h"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "trainer/models/alexnet.h"
#include "trainer/models/googlenet.h"
#include "trainer/models/inception3.h"
#include "trainer/models/resnet.h"
#include "trainer/models/tiny.h"
#include "trainer/models/vgg.h"

namespace kubecnn::models {
namespace {

using Factory = std::function<std::shared_ptr<Model>(const ModelSpec&)>;

struct Entry {
  ModelInfo info;
  Factory make;
};

Factory MakeResNet(ResNetConfig config) {
  return [config](const ModelSpec& spec) { return std::make_shared<ResNet>(config, spec); };
}

Factory MakeVgg(int depth, bool batch_norm) {
  return [=](const ModelSpec& spec) { return std::make_shared<Vgg>(VggConfigFor(depth, batch_norm), spec); };
}

ModelInfo Info(std::string name, std::string torchvision_name, bool batch_norm = true) {
  ModelInfo info;
  info.name = std::move(name);
  info.torchvision_name = std::move(torchvision_name);
  info.has_batch_norm = batch_norm;
  return info;
}

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = [] {
    using enum ResidualBlock;
    std::vector<Entry> e;
    e.push_back({Info("alexnet", "alexnet", false), [](const ModelSpec& s) { return std::make_shared<AlexNet>(s); }});
    ModelInfo googlenet = Info("googlenet", "googlenet");
    googlenet.has_aux_heads = true;
    googlenet.aux_loss_weights = {0.3, 0.3};
    e.push_back({googlenet, [](const ModelSpec& s) { return std::make_shared<GoogLeNet>(s); }});
    ModelInfo inception3 = Info("inception3", "inception_v3");
    inception3.default_image_size = 299;
    inception3.has_aux_heads = true;
    inception3.aux_loss_weights = {0.4};
    e.push_back({inception3, [](const ModelSpec& s) { return std::make_shared<Inception3>(s); }});
    e.push_back({Info("resnet18", "resnet18"), MakeResNet({kBasic, {2, 2, 2, 2}})});
    e.push_back({Info("resnet34", "resnet34"), MakeResNet({kBasic, {3, 4, 6, 3}})});
    e.push_back({Info("resnet50", "resnet50"), MakeResNet({kBottleneck, {3, 4, 6, 3}})});
    e.push_back({Info("resnet101", "resnet101"), MakeResNet({kBottleneck, {3, 4, 23, 3}})});
    e.push_back({Info("resnet152", "resnet152"), MakeResNet({kBottleneck, {3, 8, 36, 3}})});
    e.push_back({Info("resnext101_32x8d", "resnext101_32x8d"), MakeResNet({kBottleneck, {3, 4, 23, 3}, 32, 8})});
    e.push_back({Info("resnext50_32x4d", "resnext50_32x4d"), MakeResNet({kBottleneck, {3, 4, 6, 3}, 32, 4})});
    ModelInfo tiny = Info("tiny", "");
    tiny.default_image_size = 32;
    e.push_back({tiny, [](const ModelSpec& s) { return std::make_shared<TinyNet>(s, /*batch_norm=*/true); }});
    ModelInfo tiny_nobn = Info("tiny_nobn", "", false);
    tiny_nobn.default_image_size = 32;
    e.push_back({tiny_nobn, [](const ModelSpec& s) { return std::make_shared<TinyNet>(s, /*batch_norm=*/false); }});
    for (const int depth : {11, 13, 16, 19}) {
      const std::string name = "vgg" + std::to_string(depth);
      e.push_back({Info(name, name, false), MakeVgg(depth, false)});
      e.push_back({Info(name + "_bn", name + "_bn"), MakeVgg(depth, true)});
    }
    std::sort(e.begin(), e.end(), [](const Entry& a, const Entry& b) { return a.info.name < b.info.name; });
    return e;
  }();
  return entries;
}

const Entry* FindEntry(const std::string& name) {
  for (const Entry& entry : Entries()) {
    if (entry.info.name == name) return &entry;
  }
  return nullptr;
}

[[noreturn]] void ThrowUnknown(const std::string& name) {
  throw std::invalid_argument("unknown model '" + name + "' (known models: " + KnownModelNames() + ")");
}

}  // namespace

const std::vector<ModelInfo>& ListModels() {
  static const std::vector<ModelInfo> infos = [] {
    std::vector<ModelInfo> v;
    for (const Entry& entry : Entries()) v.push_back(entry.info);
    return v;
  }();
  return infos;
}

const ModelInfo* FindModel(const std::string& name) {
  const Entry* entry = FindEntry(name);
  return entry ? &entry->info : nullptr;
}

std::string KnownModelNames() {
  std::string names;
  for (const Entry& entry : Entries()) {
    if (!names.empty()) names += ", ";
    names += entry.info.name;
  }
  return names;
}

int DefaultImageSize(const std::string& name) {
  const Entry* entry = FindEntry(name);
  if (!entry) ThrowUnknown(name);
  return entry->info.default_image_size;
}

std::shared_ptr<Model> CreateModel(const ModelSpec& spec) {
  const Entry* entry = FindEntry(spec.name);
  if (!entry) ThrowUnknown(spec.name);
  if (spec.num_classes < 1) {
    throw std::invalid_argument("model " + spec.name + ": num_classes must be at least 1, got " +
                                std::to_string(spec.num_classes));
  }
  if (spec.aux_logits && !entry->info.has_aux_heads) {
    throw std::invalid_argument("model " + spec.name +
                                " has no auxiliary heads (aux_logits applies to inception3 and googlenet)");
  }
  return entry->make(spec);
}

}  // namespace kubecnn::models
