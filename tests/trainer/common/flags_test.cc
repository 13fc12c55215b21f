// Flag parsing: nvcnn_hvd.py's command lines parse as written; mistakes are UsageErrors that say what.
#include "trainer/common/flags.h"

#include <gtest/gtest.h>

namespace kubecnn {
namespace {

struct Values {
  std::string model = "resnet50";
  int64_t batch_size = 64;
  double learning_rate = 0.1;
  bool fp16 = false;
  bool eval = false;
  int display_every = 10;
  uint64_t seed = 0;
};

FlagSet MakeFlags(Values& v) {
  FlagSet flags("usage: test");
  flags.Add("model", &v.model, "model name");
  flags.Add("batch_size", &v.batch_size, "batch");
  flags.Add("learning_rate", &v.learning_rate, "lr");
  flags.Add("fp16", &v.fp16, "half precision");
  flags.Add("eval", &v.eval, "evaluate");
  flags.Add("display_every", &v.display_every, "log period");
  flags.Add("seed", &v.seed, "seed");
  return flags;
}

TEST(Flags, ParsesAnNvcnnCommandLineAsWritten) {
  Values v;
  FlagSet flags = MakeFlags(v);
  const auto positional = flags.Parse(
      {"--model=inception3", "--batch_size=128", "--fp16", "--learning_rate=1.0", "--display_every", "100"});
  EXPECT_TRUE(positional.empty());
  EXPECT_EQ(v.model, "inception3");
  EXPECT_EQ(v.batch_size, 128);
  EXPECT_TRUE(v.fp16);
  EXPECT_DOUBLE_EQ(v.learning_rate, 1.0);
  EXPECT_EQ(v.display_every, 100);
  EXPECT_TRUE(flags.WasSet("fp16"));
  EXPECT_FALSE(flags.WasSet("eval"));
}

TEST(Flags, BooleanSpellings) {
  const std::vector<std::pair<std::vector<std::string>, bool>> cases = {
      {{"--eval"}, true},
      {{"--eval=true"}, true},
      {{"--eval=1"}, true},
      {{"--eval=false"}, false},
      {{"--noeval"}, false},
      {{"-eval"}, true},
      {{"--eval", "--noeval"}, false},
      // Go's strconv.ParseBool spellings, which kubectl users pass to the operator, any case.
      {{"--eval=t"}, true},
      {{"--eval=T"}, true},
      {{"--eval=TRUE"}, true},
      {{"--eval=Yes"}, true},
      {{"--eval=f"}, false},
      {{"--eval=False"}, false},
      {{"--eval=0"}, false},
      {{"--eval=NO"}, false},
  };
  for (const auto& [args, expected] : cases) {
    Values v;
    v.eval = !expected;
    FlagSet flags = MakeFlags(v);
    flags.Parse(args);
    EXPECT_EQ(v.eval, expected) << args[0];
  }
}

TEST(Flags, PositionalsAndDoubleDash) {
  Values v;
  FlagSet flags = MakeFlags(v);
  EXPECT_EQ(flags.Parse({"a.jpg", "--eval", "b.jpg", "--", "--model=x"}),
            (std::vector<std::string>{"a.jpg", "b.jpg", "--model=x"}));
  EXPECT_EQ(v.model, "resnet50");
}

TEST(Flags, UnknownFlagSuggestsTheClosestName) {
  Values v;
  FlagSet flags = MakeFlags(v);
  try {
    flags.Parse({"--batchsize=3"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "unknown flag --batchsize (did you mean --batch_size?)");
  }
  EXPECT_THROW(flags.Parse({"--completely_different"}), UsageError);
}

TEST(Flags, BadValuesSayWhatWasExpected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--batch_size=12x", "--batch_size=12x: expected an integer"},
      {"--learning_rate=fast", "--learning_rate=fast: expected a number"},
      {"--learning_rate=nan", "--learning_rate=nan: expected a number"},
      {"--eval=maybe", "--eval=maybe: expected true or false"},
      {"--seed=-1", "--seed=-1: expected an integer"},
  };
  for (const auto& [arg, message] : cases) {
    Values v;
    FlagSet flags = MakeFlags(v);
    try {
      flags.Parse({arg});
      FAIL() << arg;
    } catch (const UsageError& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
  Values v;
  FlagSet flags = MakeFlags(v);
  EXPECT_THROW(flags.Parse({"--model"}), UsageError);  // needs a value
}

TEST(Flags, HelpIsRequestedNotAnError) {
  Values v;
  FlagSet flags = MakeFlags(v);
  flags.Parse({"--help"});
  EXPECT_TRUE(flags.help_requested());
  EXPECT_NE(flags.Usage().find("--batch_size (default 64)"), std::string::npos);
}

}  // namespace
}  // namespace kubecnn
