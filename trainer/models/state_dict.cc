// State dict views and torchvision weight loading (see state_dict.h).
#include "trainer/models/state_dict.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/unpickler.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "trainer/models/pickle_ordered_dict.h"
#include "trainer/storage/storage.h"

namespace kubecnn::models {
namespace {

void AppendOwn(const torch::nn::Module& module, const std::string& prefix, NamedTensors& out) {
  for (const auto& item : module.named_parameters(/*recurse=*/false))
    out.emplace_back(prefix + item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/false)) out.emplace_back(prefix + item.key(), item.value());
}

std::string ShapeString(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

bool StartsWithAny(const std::string& name, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return name.rfind(p, 0) == 0; });
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "a, b, c and 7 more": long lists stay readable in an error message.
std::string JoinSome(const std::vector<std::string>& items, size_t limit = 8) {
  std::string s;
  for (size_t i = 0; i < items.size() && i < limit; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > limit) s += " and " + std::to_string(items.size() - limit) + " more";
  return s;
}

// OrderedDictsAsPlainDicts turns an OrderedDict with attributes into the pair (dict, attributes).
torch::IValue WithoutAttributes(const torch::IValue& value) {
  if (value.isTuple()) {
    const auto& elements = value.toTupleRef().elements();
    if (elements.size() == 2 && elements[0].isGenericDict()) return elements[0];
  }
  return value;
}

bool StartsWithZipMagic(const std::string& bytes) { return bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] == 'K'; }

// torch::pickle_load, except that data.pkl first goes through OrderedDictsAsPlainDicts (LibTorch's
// unpickler cannot build the OrderedDict of torch.save(model.state_dict(), f)); tensors are read
// from the archive's data/ records as pickle_load does.
torch::IValue UnpickleTorchSave(const std::string& path) {
  // A local file or an s3:// object alike: the whole archive in memory (weights are read anyway).
  const std::string bytes = storage::StorageFor(path).ReadAll(path);
  if (!StartsWithZipMagic(bytes)) {
    throw std::runtime_error(path +
                             ": not a zip archive, so not written by torch.save of PyTorch >= 1.6 (legacy format "
                             "or not a torch file; re-save it from Python with torch.save(dict(sd), f))");
  }
  try {
    std::istringstream stream(bytes);
    caffe2::serialize::PyTorchStreamReader archive(&stream);
    const auto [pickle_data, pickle_size] = archive.getRecord("data.pkl");
    const std::string pickle =
        OrderedDictsAsPlainDicts(std::string_view(static_cast<const char*>(pickle_data.get()), pickle_size));
    size_t offset = 0;
    auto read = [&](char* buffer, size_t n) {
      n = std::min(n, pickle.size() - offset);
      std::memcpy(buffer, pickle.data() + offset, n);
      offset += n;
      return n;
    };
    auto read_record = [&](const std::string& name) { return std::get<0>(archive.getRecord("data/" + name)); };
    torch::jit::Unpickler unpickler(read, /*type_resolver=*/nullptr, /*obj_loader=*/nullptr, read_record,
                                    /*device=*/std::nullopt);
    unpickler.set_version(archive.version());
    return unpickler.parse_ivalue();
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": cannot read data.pkl (" + e.what() +
                             "); re-save it from Python with torch.save(dict(sd), f)");
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": cannot unpickle (" + e.what_without_backtrace() +
                             "); if it holds more than tensors, re-save just the weights from Python with "
                             "torch.save(dict(model.state_dict()), f)");
  }
}

NamedTensors DictToTensors(const c10::impl::GenericDict& dict, const std::string& path) {
  NamedTensors out;
  for (const auto& entry : dict) {
    if (!entry.key().isString()) throw std::runtime_error(path + ": state dict has a key that is not a string");
    const std::string& name = entry.key().toStringRef();
    if (!entry.value().isTensor()) {
      throw std::runtime_error(path + ": entry '" + name + "' is a " + entry.value().tagKind() + ", not a tensor");
    }
    out.emplace_back(name, entry.value().toTensor());
  }
  return out;
}

}  // namespace

NamedTensors StateDict(const torch::nn::Module& module) {
  NamedTensors out;
  AppendOwn(module, "", out);
  for (const auto& item : module.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    AppendOwn(*item.value(), item.key() + ".", out);
  }
  return out;
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

StateDictSummary SummarizeStateDict(const torch::nn::Module& module) {
  StateDictSummary s;
  for (const auto& [name, t] : StateDict(module)) {
    ++s.num_tensors;
    s.bytes += t.numel() * static_cast<int64_t>(t.element_size());
  }
  s.parameter_elements = CountParameters(module);
  for (const auto& b : module.buffers()) s.buffer_elements += b.numel();
  return s;
}

std::string FormatStateDict(const NamedTensors& tensors) {
  std::string out;
  for (const auto& [name, t] : tensors) {
    out += name + "\t";
    for (int64_t i = 0; i < t.dim(); ++i) out += (i ? "," : "") + std::to_string(t.size(i));
    out += "\n";
  }
  return out;
}

NamedTensors ReadStateDictFile(const std::string& path) {
  const torch::IValue value = WithoutAttributes(UnpickleTorchSave(path));
  if (!value.isGenericDict()) {
    throw std::runtime_error(path + ": holds a " + std::string(value.tagKind()) +
                             ", expected the dict that torch.save(model.state_dict(), f) writes");
  }
  c10::impl::GenericDict dict = value.toGenericDict();
  // A training checkpoint: {"model": state_dict, "optimizer": ...} or {"state_dict": ...}.
  for (const char* key : {"state_dict", "model"}) {
    auto it = dict.find(torch::IValue(std::string(key)));
    if (it == dict.end()) continue;
    const torch::IValue inner = WithoutAttributes(it->value());
    if (inner.isGenericDict()) {
      dict = inner.toGenericDict();
      break;
    }
  }
  NamedTensors tensors = DictToTensors(dict, path);
  const std::string ddp_prefix = "module.";
  const bool all_ddp = !tensors.empty() && std::all_of(tensors.begin(), tensors.end(), [&](const auto& e) {
    return e.first.rfind(ddp_prefix, 0) == 0;
  });
  if (all_ddp) {
    for (auto& entry : tensors) entry.first.erase(0, ddp_prefix.size());
  }
  return tensors;
}

LoadReport LoadStateDict(Model& model, const NamedTensors& tensors, const LoadOptions& options) {
  const std::vector<std::string> classifier = model.ClassifierPrefixes();
  const std::vector<std::string> aux = model.AuxHeadPrefixes();
  std::map<std::string, const torch::Tensor*> from_file;
  for (const auto& [name, t] : tensors) from_file[name] = &t;

  LoadReport report;
  std::vector<std::string> mismatched, missing, unexpected;
  std::vector<std::pair<torch::Tensor, const torch::Tensor*>> copies;
  bool classifier_mismatch = false;
  const NamedTensors own = StateDict(model);
  std::set<std::string> in_model;
  for (const auto& [name, target] : own) {
    in_model.insert(name);
    if (options.skip_classifier && StartsWithAny(name, classifier)) {
      report.kept_initial.push_back(name);
      continue;
    }
    auto it = from_file.find(name);
    if (it == from_file.end()) {
      if (EndsWith(name, ".num_batches_tracked") || (options.tolerate_aux_heads && StartsWithAny(name, aux))) {
        report.kept_initial.push_back(name);
      } else {
        missing.push_back(name);
      }
      continue;
    }
    const torch::Tensor& source = *it->second;
    if (source.sizes() != target.sizes()) {
      mismatched.push_back(name + " (file " + ShapeString(source) + ", model " + ShapeString(target) + ")");
      classifier_mismatch = classifier_mismatch || StartsWithAny(name, classifier);
      continue;
    }
    copies.emplace_back(target, &source);
  }
  for (const auto& [name, t] : tensors) {
    if (options.skip_classifier && StartsWithAny(name, classifier)) {
      report.ignored.push_back(name);
    } else if (in_model.count(name)) {
      continue;
    } else if (options.tolerate_aux_heads && StartsWithAny(name, aux)) {
      report.ignored.push_back(name);
    } else {
      unexpected.push_back(name);
    }
  }
  if (!mismatched.empty() || !missing.empty() || !unexpected.empty()) {
    std::ostringstream msg;
    msg << "state dict does not fit model " << model.name() << ":";
    if (!mismatched.empty()) msg << " " << mismatched.size() << " shape mismatch(es): " << JoinSome(mismatched) << ";";
    if (!missing.empty()) msg << " " << missing.size() << " missing: " << JoinSome(missing) << ";";
    if (!unexpected.empty()) msg << " " << unexpected.size() << " unexpected: " << JoinSome(unexpected) << ";";
    if (classifier_mismatch) {
      msg << " the classifier's shape differs (another num_classes?): skip_classifier keeps the model's own "
             "classifier for fine-tuning;";
    }
    msg << " was it saved from another architecture?";
    throw std::runtime_error(msg.str());
  }
  torch::NoGradGuard no_grad;
  for (auto& [target, source] : copies) target.copy_(*source);
  report.loaded = static_cast<int64_t>(copies.size());
  return report;
}

LoadReport LoadTorchvisionStateDict(Model& model, const std::string& path, const LoadOptions& options) {
  try {
    return LoadStateDict(model, ReadStateDictFile(path), options);
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    if (what.rfind(path, 0) == 0) throw;
    throw std::runtime_error("loading " + path + ": " + what);
  }
}

}  // namespace kubecnn::models
