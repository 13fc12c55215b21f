// Spelling pickle opcodes (protocol 2) by hand for tests of the state-dict reader.
#pragma once

#include <cstdint>
#include <string>

namespace kubecnn::models::pickle_bytes {

inline const std::string kProto2 = std::string(1, '\x80') + '\x02';
inline const std::string kOrderedDictGlobal = "ccollections\nOrderedDict\n";
inline const std::string kTuple1(1, '\x85');
inline const std::string kTuple2(1, '\x86');
inline const std::string kNewFalse(1, '\x89');
// Single-character opcodes: ( ) R u s } b . N 0 t Q l are spelled inline.

inline std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

inline std::string WithByte(char op, uint8_t arg) { return std::string(1, op) + static_cast<char>(arg); }
inline std::string BinPut(uint8_t slot) { return WithByte('q', slot); }
inline std::string BinGet(uint8_t slot) { return WithByte('h', slot); }
inline std::string BinInt1(uint8_t v) { return WithByte('K', v); }
inline std::string LongBinPut(uint32_t slot) { return "r" + Le32(slot); }
inline std::string LongBinGet(uint32_t slot) { return "j" + Le32(slot); }
inline std::string Unicode(const std::string& s) { return "X" + Le32(static_cast<uint32_t>(s.size())) + s; }

// data.pkl of torch.save(model.state_dict(), f) for a one-entry state dict {name: float32 tensor
// of `numel` elements in storage "0"}: OrderedDict, tensor with empty backward hooks, _metadata.
inline std::string OrderedDictStateDictPickle(const std::string& name, uint8_t numel) {
  std::string p = kProto2 + kOrderedDictGlobal + BinPut(0) + ")R" + BinPut(1) + "(" + Unicode(name);
  p += "ctorch._utils\n_rebuild_tensor_v2\n" + BinPut(2) + "((" + Unicode("storage") + "ctorch\nFloatStorage\n" +
       Unicode("0") + Unicode("cpu") + BinInt1(numel) + "tQ";
  p += BinInt1(0) + BinInt1(numel) + kTuple1 + BinInt1(1) + kTuple1 + kNewFalse + BinGet(0) + ")R" + "tR";
  p += "u}" + Unicode("_metadata") + BinGet(0) + ")R(" + Unicode("") + "}" + Unicode("version") + BinInt1(1) + "sus" +
       "b.";
  return p;
}

}  // namespace kubecnn::models::pickle_bytes
