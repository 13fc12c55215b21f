// OrderedDict -> dict rewriting of a pickle opcode stream (see pickle_ordered_dict.h).
#include "trainer/models/pickle_ordered_dict.h"

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

namespace kubecnn::models {
namespace {

// Opcodes the rewrite acts on or emits.
constexpr uint8_t kGlobal = 'c', kBinPut = 'q', kLongBinPut = 'r', kBinGet = 'h', kLongBinGet = 'j', kEmptyTuple = ')',
                  kReduce = 'R', kBuild = 'b', kStop = '.', kEmptyDict = '}', kTuple2 = 0x86;

// Every opcode of protocols 0-2 (and protocol 3's byte strings), by the argument that follows it
// (Lib/pickletools.py).
constexpr std::string_view kNoArgument = "(.012N\x88\x89)t\x85\x86\x87]ael}dsuRb\x81Qo";
constexpr std::string_view kOneByte = "Kqh\x80\x82";
constexpr std::string_view kTwoBytes = "M\x83";
constexpr std::string_view kFourBytes = "Jrj\x84";
constexpr std::string_view kEightBytes = "G";
constexpr std::string_view kByteLengthAndData = "UC\x8a";
constexpr std::string_view kFourByteLengthAndData = "XTB\x8b";
constexpr std::string_view kOneLine = "ILSVFpgP";
constexpr std::string_view kTwoLines = "ci";

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  size_t pos() const { return pos_; }
  uint8_t Byte() { return static_cast<uint8_t>(Take(1)[0]); }
  uint32_t LittleEndian(size_t n) {
    const std::string_view b = Take(n);
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(b[i])) << (8 * i);
    return v;
  }
  std::string_view Take(size_t n) {
    if (n > data_.size() - pos_) Fail("truncated");
    const std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view Line() {  // without its '\n'
    const size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) Fail("unterminated line");
    const std::string_view s = data_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  [[noreturn]] void Fail(const std::string& what) const {
    throw std::invalid_argument("pickle " + what + " at byte " + std::to_string(pos_));
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Consumes the argument of `op` (already read).
void SkipArgument(uint8_t op, Reader& in) {
  auto is = [op](std::string_view set) { return set.find(static_cast<char>(op)) != std::string_view::npos; };
  if (is(kNoArgument)) return;
  if (is(kOneByte) || is(kTwoBytes) || is(kFourBytes) || is(kEightBytes)) {
    in.Take(is(kOneByte) ? 1 : is(kTwoBytes) ? 2 : is(kFourBytes) ? 4 : 8);
  } else if (is(kByteLengthAndData)) {
    in.Take(in.Byte());
  } else if (is(kFourByteLengthAndData)) {
    in.Take(in.LittleEndian(4));
  } else if (is(kOneLine) || is(kTwoLines)) {
    in.Line();
    if (is(kTwoLines)) in.Line();
  } else {
    in.Fail("opcode " + std::to_string(op) + " unknown (not protocol 2)");
  }
}

}  // namespace

std::string OrderedDictsAsPlainDicts(std::string_view pickle) {
  Reader in(pickle);
  std::string out;
  out.reserve(pickle.size());
  std::unordered_set<uint32_t> class_memo;  // memo slots that would hold the OrderedDict class
  bool class_on_top = false;                // the class would be on top of the stack now
  bool saw_ordered_dict = false;
  while (!in.done()) {
    const size_t start = in.pos();
    const uint8_t op = in.Byte();
    if (op == kGlobal) {
      const std::string_view module = in.Line();
      const std::string_view name = in.Line();
      if (module == "collections" && name == "OrderedDict") {
        class_on_top = saw_ordered_dict = true;  // not emitted: nothing will use the class
        continue;
      }
    } else if (op == kBinPut || op == kLongBinPut) {
      const uint32_t slot = op == kBinPut ? in.Byte() : in.LittleEndian(4);
      if (class_on_top) {
        class_memo.insert(slot);  // not emitted either; the unpickler fills skipped slots with None
        continue;
      }
      class_memo.erase(slot);
    } else if (op == kBinGet || op == kLongBinGet) {
      const uint32_t slot = op == kBinGet ? in.Byte() : in.LittleEndian(4);
      if (class_memo.count(slot)) {
        class_on_top = true;
        continue;
      }
    } else if (op == kEmptyTuple && class_on_top) {
      // OrderedDict() -> {}; the SETITEMS that follow fill it as they would the OrderedDict.
      if (in.done() || in.Byte() != kReduce) in.Fail("OrderedDict built with arguments is not supported");
      out += static_cast<char>(kEmptyDict);
      class_on_top = false;
      continue;
    } else if (op == kBuild && saw_ordered_dict) {
      out += static_cast<char>(kTuple2);  // (dict, attributes)
      continue;
    } else {
      SkipArgument(op, in);
    }
    if (class_on_top) in.Fail("OrderedDict used other than as OrderedDict()");
    out.append(pickle.substr(start, in.pos() - start));
    if (op == kStop) return out;
  }
  in.Fail("has no STOP opcode");
}

}  // namespace kubecnn::models
