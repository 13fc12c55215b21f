// Checkpoint envelope: pickle the state dict, frame it with magic/version/length/CRC, write atomically.
#include "trainer/checkpoint/checkpoint.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "trainer/data/crc32c.h"
#include "trainer/storage/storage.h"

namespace kubecnn::checkpoint {
namespace {

constexpr char kMagic[12] = {'K', 'U', 'B', 'E', 'C', 'N', 'N', '-', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = sizeof kMagic + 4 + 8;

// A dict of mixed values, as Python's: str -> Any.
c10::impl::GenericDict MixedDict() { return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get()); }

c10::Dict<std::string, torch::Tensor> TensorDict(const std::map<std::string, torch::Tensor>& tensors) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& [name, tensor] : tensors) dict.insert(name, tensor.detach().cpu());
  return dict;
}

std::map<std::string, torch::Tensor> TensorMap(const c10::IValue& value) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& entry : value.toGenericDict()) out[entry.key().toStringRef()] = entry.value().toTensor();
  return out;
}

template <typename T>
void Put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

template <typename T>
T Get(const std::string& in, size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof value);
  return value;
}

// The fields of a checkpoint payload; throws on one missing or of the wrong type.
void ReadFields(const c10::IValue& root_value, Checkpoint& c) {
  const auto root = root_value.toGenericDict();
  const auto config = root.at("config").toGenericDict();
  c.config.model = config.at("model").toStringRef();
  c.config.num_classes = config.at("num_classes").toInt();
  c.config.image_size = config.at("image_size").toInt();
  c.config.world_size = config.at("world_size").toInt();
  c.config.batch_size = config.at("batch_size").toInt();
  c.step = root.at("step").toInt();
  c.epoch = root.at("epoch").toInt();
  c.data_position = root.at("data_position").toInt();
  c.model = TensorMap(root.at("model"));
  c.optimizer = TensorMap(root.at("optimizer"));
  for (const auto& entry : root.at("scalars").toGenericDict()) {
    c.scalars[entry.key().toStringRef()] = entry.value().toDouble();
  }
  if (root.at("rng_state").isTensor()) c.rng_state = root.at("rng_state").toTensor();
  c.command_line = root.at("command_line").toStringRef();
}

}  // namespace

void SaveCheckpoint(const std::string& path, const Checkpoint& c) {
  c10::impl::GenericDict config = MixedDict();
  config.insert("model", c.config.model);
  config.insert("num_classes", c.config.num_classes);
  config.insert("image_size", c.config.image_size);
  config.insert("world_size", c.config.world_size);
  config.insert("batch_size", c.config.batch_size);
  c10::Dict<std::string, double> scalars;
  for (const auto& [name, value] : c.scalars) scalars.insert(name, value);
  c10::impl::GenericDict root = MixedDict();
  root.insert("config", config);
  root.insert("step", c.step);
  root.insert("epoch", c.epoch);
  root.insert("data_position", c.data_position);
  root.insert("model", TensorDict(c.model));
  root.insert("optimizer", TensorDict(c.optimizer));
  root.insert("scalars", scalars);
  root.insert("rng_state", c.rng_state.defined() ? c.rng_state : torch::Tensor());
  root.insert("command_line", c.command_line);
  const std::vector<char> payload = torch::pickle_save(root);

  std::string header(kMagic, sizeof kMagic);
  Put<uint32_t>(header, kFormatVersion);
  Put<uint64_t>(header, payload.size());
  std::string footer;
  Put<uint32_t>(footer, data::MaskCrc(data::Crc32c(payload.data(), payload.size())));

  try {
    storage::WriteAtomically(path, {header, std::string_view(payload.data(), payload.size()), footer});
  } catch (const TransientError& e) {  // disk full, the object store failing: a restart may succeed
    throw TransientError(std::string("saving checkpoint: ") + e.what());
  } catch (const storage::StorageError& e) {
    throw CheckpointError(std::string("saving checkpoint: ") + e.what());
  }
}

std::string ReadCheckpointFile(const std::string& path) {
  try {
    return storage::StorageFor(path).ReadAll(path);
  } catch (const storage::StorageError& e) {
    throw CheckpointError(std::string("reading checkpoint: ") + e.what());
  }
}

Checkpoint LoadCheckpoint(const std::string& path) { return ParseCheckpoint(ReadCheckpointFile(path), path); }

Checkpoint ParseCheckpoint(const std::string& bytes, const std::string& path) {
  const auto fail = [&](const std::string& what) { return CheckpointError("checkpoint " + path + ": " + what); };
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw fail("not a kubecnn checkpoint (no KUBECNN-CKPT header); for torchvision weights use --init_checkpoint");
  }
  const auto version = Get<uint32_t>(bytes, sizeof kMagic);
  if (version != kFormatVersion) {
    throw fail("format version " + std::to_string(version) + ", this trainer reads version " +
               std::to_string(kFormatVersion) + " (use the kubecnn release that wrote it)");
  }
  const auto length = Get<uint64_t>(bytes, sizeof kMagic + 4);
  if (bytes.size() != kHeaderBytes + length + 4) {
    throw fail("truncated: " + std::to_string(bytes.size()) + " bytes, the header promises " +
               std::to_string(kHeaderBytes + length + 4) + " (the save was interrupted; use an older checkpoint)");
  }
  const char* payload = bytes.data() + kHeaderBytes;
  if (data::MaskCrc(data::Crc32c(payload, length)) != Get<uint32_t>(bytes, kHeaderBytes + length)) {
    throw fail("CRC mismatch (the file is corrupt; delete it to resume from the previous one)");
  }
  c10::IValue root_value;
  try {
    root_value = torch::pickle_load(std::vector<char>(payload, payload + length));
  } catch (const std::exception& e) {
    throw fail(std::string("unreadable payload: ") + e.what());
  }
  Checkpoint c;
  try {
    ReadFields(root_value, c);
  } catch (const std::exception& e) {  // c10::Error and std::out_of_range: a missing or mistyped field
    std::string why = e.what();
    why = why.substr(0, why.find('\n'));
    throw fail("a field is missing or has the wrong type (" + why +
               "); the file is damaged or not from this trainer: delete it to resume from the previous one");
  }
  return c;
}

std::string Incompatibility(const RunConfig& saved, const RunConfig& current) {
  std::string out;
  const auto differ = [&](const char* what, const std::string& was, const std::string& is) {
    if (was == is) return;
    if (!out.empty()) out += "; ";
    out += std::string(what) + " was " + was + ", this run has " + is;
  };
  differ("--model", saved.model, current.model);
  differ("--num_classes", std::to_string(saved.num_classes), std::to_string(current.num_classes));
  differ("--image_size", std::to_string(saved.image_size), std::to_string(current.image_size));
  differ("world size", std::to_string(saved.world_size), std::to_string(current.world_size));
  differ("--batch_size", std::to_string(saved.batch_size), std::to_string(current.batch_size));
  return out;
}

}  // namespace kubecnn::checkpoint
