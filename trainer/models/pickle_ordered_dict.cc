// OrderedDict -> dict rewriting of a pickle opcode stream (see pickle_ordered_dict.h).
#include "trainer/models/pickle_ordered_dict.h"

#include <cstdint>
#include <stdexcept>
#include <unordered_set>

namespace kubecnn::models {
namespace {

// Opcodes of pickle protocols 0-2 (Lib/pickletools.py), plus the 3+ byte-string ones.
enum Op : uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kNone = 'N',
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kEmptyTuple = ')',
  kTuple = 't',
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kEmptyList = ']',
  kAppend = 'a',
  kAppends = 'e',
  kList = 'l',
  kEmptyDict = '}',
  kDict = 'd',
  kSetItem = 's',
  kSetItems = 'u',
  kReduce = 'R',
  kBuild = 'b',
  kNewObj = 0x81,
  kBinPersId = 'Q',
  kObj = 'o',
  kBinInt1 = 'K',
  kBinPut = 'q',
  kBinGet = 'h',
  kProto = 0x80,
  kExt1 = 0x82,
  kShortBinString = 'U',
  kShortBinBytes = 'C',
  kLong1 = 0x8a,
  kBinInt2 = 'M',
  kExt2 = 0x83,
  kBinInt = 'J',
  kLongBinPut = 'r',
  kLongBinGet = 'j',
  kExt4 = 0x84,
  kBinUnicode = 'X',
  kBinString = 'T',
  kBinBytes = 'B',
  kLong4 = 0x8b,
  kBinFloat = 'G',
  kGlobal = 'c',
  kInst = 'i',
  kInt = 'I',
  kLong = 'L',
  kString = 'S',
  kUnicode = 'V',
  kFloat = 'F',
  kPut = 'p',
  kGet = 'g',
  kPersId = 'P',
};

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
  switch (op) {
    case kMark:
    case kStop:
    case kPop:
    case kPopMark:
    case kDup:
    case kNone:
    case kNewTrue:
    case kNewFalse:
    case kEmptyTuple:
    case kTuple:
    case kTuple1:
    case kTuple2:
    case kTuple3:
    case kEmptyList:
    case kAppend:
    case kAppends:
    case kList:
    case kEmptyDict:
    case kDict:
    case kSetItem:
    case kSetItems:
    case kReduce:
    case kBuild:
    case kNewObj:
    case kBinPersId:
    case kObj: return;
    case kBinInt1:
    case kBinPut:
    case kBinGet:
    case kProto:
    case kExt1: in.Take(1); return;
    case kShortBinString:
    case kShortBinBytes:
    case kLong1: in.Take(in.Byte()); return;
    case kBinInt2:
    case kExt2: in.Take(2); return;
    case kBinInt:
    case kLongBinPut:
    case kLongBinGet:
    case kExt4: in.Take(4); return;
    case kBinUnicode:
    case kBinString:
    case kBinBytes:
    case kLong4: in.Take(in.LittleEndian(4)); return;
    case kBinFloat: in.Take(8); return;
    case kGlobal:
    case kInst:
      in.Line();
      in.Line();
      return;
    case kInt:
    case kLong:
    case kString:
    case kUnicode:
    case kFloat:
    case kPut:
    case kGet:
    case kPersId: in.Line(); return;
  }
  in.Fail("opcode " + std::to_string(op) + " unknown (not protocol 2)");
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
