// OrderedDict -> dict rewriting of pickles, on opcode streams written by hand after what
// torch.save(model.state_dict(), f) produces (python -m pickletools on its data.pkl).
#include "trainer/models/pickle_ordered_dict.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tests/trainer/models/pickle_bytes.h"

namespace kubecnn::models {
namespace {

using namespace pickle_bytes;  // NOLINT(build/namespaces): opcode spellers

TEST(OrderedDictsAsPlainDicts, LeavesAPickleWithoutOrderedDictAlone) {
  const std::string plain =
      kProto2 + "}" + BinPut(0) + "(" + Unicode("a") + BinInt1(1) + Unicode("b") + BinInt1(2) + "u.";
  EXPECT_EQ(OrderedDictsAsPlainDicts(plain), plain);
}

TEST(OrderedDictsAsPlainDicts, BuildsOrderedDictsAsEmptyDictsAndPairsThemWithTheirAttributes) {
  // OrderedDict() with the class memoised in slot 0, one item, then BUILD with
  // {"_metadata": OrderedDict()}: the class and its memo slot vanish, BUILD becomes TUPLE2.
  const std::string od = kProto2 + kOrderedDictGlobal + BinPut(0) + ")R" + BinPut(1) + "(" + Unicode("w") + BinInt1(7) +
                         "u}" + Unicode("_metadata") + BinGet(0) + ")R" + BinPut(3) + "sb.";
  const std::string expected = kProto2 + "}" + BinPut(1) + "(" + Unicode("w") + BinInt1(7) + "u}" +
                               Unicode("_metadata") + "}" + BinPut(3) + "s" + kTuple2 + ".";
  EXPECT_EQ(OrderedDictsAsPlainDicts(od), expected);
}

TEST(OrderedDictsAsPlainDicts, FollowsTheClassThroughLongMemoSlots) {
  const std::string od = kProto2 + "(" + kOrderedDictGlobal + LongBinPut(261) + ")R" + LongBinGet(261) + ")Rl.";
  EXPECT_EQ(OrderedDictsAsPlainDicts(od), kProto2 + "(}}l.");
}

TEST(OrderedDictsAsPlainDicts, RewritesAWholeStateDictPickle) {
  const std::string rewritten = OrderedDictsAsPlainDicts(OrderedDictStateDictPickle("w", 2));
  EXPECT_EQ(rewritten.find("OrderedDict"), std::string::npos);
  EXPECT_NE(rewritten.find("_rebuild_tensor_v2"), std::string::npos);
  EXPECT_TRUE(rewritten.ends_with("sus" + kTuple2 + ".")) << "the final BUILD (of _metadata) becomes TUPLE2";
}

TEST(OrderedDictsAsPlainDicts, RejectsWhatItCannotRewriteSafely) {
  // OrderedDict([("a", 1)]): constructor arguments.
  EXPECT_THROW(
      OrderedDictsAsPlainDicts(kProto2 + kOrderedDictGlobal + "((" + Unicode("a") + BinInt1(1) + "tl" + kTuple1 + "R."),
      std::invalid_argument);
  EXPECT_THROW(OrderedDictsAsPlainDicts(kProto2 + "}"), std::invalid_argument);                             // no STOP
  EXPECT_THROW(OrderedDictsAsPlainDicts(kProto2 + "X" + Le32(255) + "ab."), std::invalid_argument);         // truncated
  EXPECT_THROW(OrderedDictsAsPlainDicts(std::string(1, '\x80') + '\x04' + '\x95'), std::invalid_argument);  // FRAME
}

}  // namespace
}  // namespace kubecnn::models
