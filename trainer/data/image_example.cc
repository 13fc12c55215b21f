// Parsing and building ImageNet-schema tf.train.Example records with the generated protobuf code.
#include "trainer/data/image_example.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <sstream>

#include "trainer/data/data_error.h"
#include "trainer/data/example.pb.h"

namespace kubecnn::data {
namespace {

using FeatureMap = google::protobuf::Map<std::string, tf::Feature>;

constexpr const char* kBoxKeys[4] = {"image/object/bbox/xmin", "image/object/bbox/ymin", "image/object/bbox/xmax",
                                     "image/object/bbox/ymax"};

std::string Where(const RecordLocation& where) {
  std::string s = "record " + std::to_string(where.index);
  if (!where.file.empty()) s += " of " + std::string(where.file);
  return s;
}

const char* KindName(tf::Feature::KindCase kind) {
  switch (kind) {
    case tf::Feature::kBytesList: return "bytes_list";
    case tf::Feature::kFloatList: return "float_list";
    case tf::Feature::kInt64List: return "int64_list";
    default: return "empty";
  }
}

[[noreturn]] void Fail(const RecordLocation& where, const std::string& what) {
  throw DataError(Where(where) + ": " + what +
                  " (is this an ImageNet-style TFRecord? --image_key/--label_key name other features)");
}

const tf::Feature* Find(const FeatureMap& map, const std::string& key) {
  const auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

// The feature `key` must be there, of `kind`, with at least one value.
const tf::Feature& Require(const FeatureMap& map, const std::string& key, tf::Feature::KindCase kind,
                           const RecordLocation& where) {
  const tf::Feature* f = Find(map, key);
  if (!f) Fail(where, "missing feature '" + key + "'");
  if (f->kind_case() != kind) {
    Fail(where, "feature '" + key + "' is " + KindName(f->kind_case()) + ", expected " + KindName(kind));
  }
  const int n = kind == tf::Feature::kBytesList   ? f->bytes_list().value_size()
                : kind == tf::Feature::kInt64List ? f->int64_list().value_size()
                                                  : f->float_list().value_size();
  if (n == 0) Fail(where, "feature '" + key + "' has no value");
  return *f;
}

// An optional feature: absent is fine, present with another type is an error.
const tf::Feature* Optional(const FeatureMap& map, const std::string& key, tf::Feature::KindCase kind,
                            const RecordLocation& where) {
  const tf::Feature* f = Find(map, key);
  if (!f || f->kind_case() == tf::Feature::KIND_NOT_SET) return nullptr;
  if (f->kind_case() != kind) {
    Fail(where, "feature '" + key + "' is " + KindName(f->kind_case()) + ", expected " + KindName(kind));
  }
  return f;
}

int64_t OptionalInt(const FeatureMap& map, const std::string& key, const RecordLocation& where) {
  const tf::Feature* f = Optional(map, key, tf::Feature::kInt64List, where);
  return f && f->int64_list().value_size() > 0 ? f->int64_list().value(0) : 0;
}

std::string OptionalBytes(const FeatureMap& map, const std::string& key, const RecordLocation& where) {
  const tf::Feature* f = Optional(map, key, tf::Feature::kBytesList, where);
  return f && f->bytes_list().value_size() > 0 ? f->bytes_list().value(0) : std::string();
}

std::vector<BoundingBox> ParseBoxes(const FeatureMap& map, const RecordLocation& where) {
  const tf::FloatList* lists[4];
  int present = 0;
  for (int i = 0; i < 4; ++i) {
    const tf::Feature* f = Optional(map, kBoxKeys[i], tf::Feature::kFloatList, where);
    lists[i] = f ? &f->float_list() : nullptr;
    present += f != nullptr;
  }
  if (present == 0) return {};
  const int n = lists[0] ? lists[0]->value_size() : -1;
  for (int i = 0; i < 4; ++i) {
    if (!lists[i] || lists[i]->value_size() != n) {
      Fail(where, "bounding box features disagree: '" + std::string(kBoxKeys[i]) + "' has " +
                      std::to_string(lists[i] ? lists[i]->value_size() : 0) + " values, '" + kBoxKeys[0] + "' has " +
                      std::to_string(std::max(n, 0)));
    }
  }
  std::vector<BoundingBox> boxes;
  boxes.reserve(n);
  for (int i = 0; i < n; ++i) {
    BoundingBox b{std::clamp(lists[0]->value(i), 0.0f, 1.0f), std::clamp(lists[1]->value(i), 0.0f, 1.0f),
                  std::clamp(lists[2]->value(i), 0.0f, 1.0f), std::clamp(lists[3]->value(i), 0.0f, 1.0f)};
    if (b.xmax > b.xmin && b.ymax > b.ymin) boxes.push_back(b);  // degenerate boxes carry no information
  }
  return boxes;
}

void SetBytes(FeatureMap& map, const char* key, std::string_view value) {
  map[key].mutable_bytes_list()->add_value(std::string(value));
}
void SetInt(FeatureMap& map, const char* key, int64_t value) { map[key].mutable_int64_list()->add_value(value); }

}  // namespace

ImageExample ParseImageExample(std::string_view serialized, const RecordLocation& where, const ExampleSchema& schema) {
  google::protobuf::Arena arena;
  auto* example = google::protobuf::Arena::CreateMessage<tf::Example>(&arena);
  if (!example->ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    Fail(where, "not a tf.train.Example (protobuf parse failed on " + std::to_string(serialized.size()) + " bytes)");
  }
  FeatureMap& map = *example->mutable_features()->mutable_feature();
  ImageExample out;
  Require(map, schema.image_key, tf::Feature::kBytesList, where);
  out.encoded = std::move(*map[schema.image_key].mutable_bytes_list()->mutable_value(0));
  out.label = Require(map, schema.label_key, tf::Feature::kInt64List, where).int64_list().value(0);
  out.height = OptionalInt(map, "image/height", where);
  out.width = OptionalInt(map, "image/width", where);
  out.boxes = ParseBoxes(map, where);
  out.class_text = OptionalBytes(map, "image/class/text", where);
  out.filename = OptionalBytes(map, "image/filename", where);
  return out;
}

std::string SerializeImageExample(const ImageExampleFields& fields) {
  tf::Example example;
  FeatureMap& map = *example.mutable_features()->mutable_feature();
  SetBytes(map, "image/encoded", fields.encoded);
  SetBytes(map, "image/format", fields.format);
  SetBytes(map, "image/colorspace", fields.colorspace);
  SetInt(map, "image/channels", fields.channels);
  SetInt(map, "image/height", fields.height);
  SetInt(map, "image/width", fields.width);
  SetInt(map, "image/class/label", fields.label);
  if (!fields.class_text.empty()) SetBytes(map, "image/class/text", fields.class_text);
  if (!fields.synset.empty()) SetBytes(map, "image/class/synset", fields.synset);
  if (!fields.filename.empty()) SetBytes(map, "image/filename", fields.filename);
  if (!fields.boxes.empty()) {
    for (const BoundingBox& b : fields.boxes) {
      const float values[4] = {b.xmin, b.ymin, b.xmax, b.ymax};
      for (int i = 0; i < 4; ++i) map[kBoxKeys[i]].mutable_float_list()->add_value(values[i]);
    }
  }
  // Deterministic: map entries sorted by key. Plain SerializeAsString writes the feature map in
  // hash order, which protobuf seeds per map instance, so equal inputs would give different bytes.
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    example.SerializeToCodedStream(&coded);
  }
  return out;
}

std::vector<std::string> DescribeExample(std::string_view serialized, size_t max_values) {
  tf::Example example;
  if (!example.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    return {"(not a tf.train.Example: protobuf parse failed on " + std::to_string(serialized.size()) + " bytes)"};
  }
  std::vector<std::string> keys;
  for (const auto& [key, _] : example.features().feature()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> lines;
  for (const std::string& key : keys) {
    const tf::Feature& f = example.features().feature().at(key);
    std::ostringstream line;
    line << key << ": ";
    auto list = [&](const char* type, int n, auto value_at) {
      line << type << "[" << n << "]";
      if (n > 0) line << " =";
      for (int i = 0; i < n && static_cast<size_t>(i) < max_values; ++i) line << " " << value_at(i);
      if (static_cast<size_t>(n) > max_values) line << " ...";
    };
    switch (f.kind_case()) {
      case tf::Feature::kInt64List:
        list("int64", f.int64_list().value_size(), [&](int i) { return f.int64_list().value(i); });
        break;
      case tf::Feature::kFloatList:
        list("float", f.float_list().value_size(), [&](int i) { return f.float_list().value(i); });
        break;
      case tf::Feature::kBytesList:
        list("bytes", f.bytes_list().value_size(), [&](int i) {
          const std::string& v = f.bytes_list().value(i);
          const bool printable =
              v.size() <= 64 && std::all_of(v.begin(), v.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
          return printable ? "'" + v + "'" : "<" + std::to_string(v.size()) + " bytes>";
        });
        break;
      default: line << "(empty)";
    }
    lines.push_back(line.str());
  }
  return lines;
}

}  // namespace kubecnn::data
