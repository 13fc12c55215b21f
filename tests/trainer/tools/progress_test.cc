// Progress bar: the line's content, and how often it is printed when stderr is not a terminal.
#include "trainer/tools/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

namespace kubecnn::tools {
namespace {

std::string Contents(std::FILE* f) {
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s.push_back(static_cast<char>(c));
  return s;
}

TEST(Progress, LineShowsCountPercentRateAndEta) {
  EXPECT_EQ(FormatProgressLine("train", "img", 250, 1000, 2.0, 10),
            "train [##--------] 250/1000  25.0%  125 img/s  ETA 0:06");
  EXPECT_EQ(FormatProgressLine("val", "img", 1000, 1000, 4.0, 4), "val [####] 1000/1000  100.0%  250 img/s  in 0:04");
  EXPECT_EQ(FormatProgressLine("x", "shards", 0, 10, 0.0, 2), "x [--] 0/10  0.0%  0.0 shards/s  ETA ?");
}

TEST(Progress, DurationsUseHoursOnlyWhenNeeded) {
  EXPECT_EQ(FormatDuration(75), "1:15");
  EXPECT_EQ(FormatDuration(3725), "1:02:05");
  EXPECT_EQ(FormatDuration(-1), "?");
}

TEST(Progress, RedirectedOutputGetsOneLinePerTenth) {
  std::FILE* out = std::tmpfile();
  {
    ProgressBar bar("train", "img", 100, out, /*interactive=*/false);
    for (int i = 0; i < 100; ++i) bar.Add(1);
  }
  const std::string text = Contents(out);
  std::fclose(out);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 10) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("100/100"), std::string::npos);
}

TEST(Progress, TerminalOutputRedrawsInPlaceAndEndsWithANewline) {
  std::FILE* out = std::tmpfile();
  {
    ProgressBar bar("train", "img", 3, out, /*interactive=*/true);
    bar.Add(3);
  }
  const std::string text = Contents(out);
  std::fclose(out);
  EXPECT_EQ(text.front(), '\r');
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
}

}  // namespace
}  // namespace kubecnn::tools
