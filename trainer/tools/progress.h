// A progress bar on stderr: redrawn in place on a terminal, one line per tenth when redirected.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace kubecnn::tools {

// "train [#########-----------] 1234/5000  24.7%  812 img/s  ETA 0:04" for unit "img". Pure, for tests.
std::string FormatProgressLine(std::string_view label, std::string_view unit, int64_t done, int64_t total,
                               double elapsed_seconds, int bar_width = 24);
// 75 -> "1:15", 3725 -> "1:02:05"; "?" when unknown (negative or not finite).
std::string FormatDuration(double seconds);

// Thread-safe: workers call Add(); drawing costs one try_lock at most every 100 ms.
class ProgressBar {
 public:
  // Draws in place (\r) when `out` is a terminal, else prints a line each time a tenth is crossed.
  // `unit` names what is counted in the rate: "img" gives "812 img/s".
  ProgressBar(std::string label, std::string unit, int64_t total, std::FILE* out = stderr);
  ProgressBar(std::string label, std::string unit, int64_t total, std::FILE* out, bool interactive);
  ~ProgressBar();  // Finish() if not done yet
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Add(int64_t n = 1);
  // Prints the final line (once).
  void Finish();
  int64_t done() const { return done_.load(); }

 private:
  using Clock = std::chrono::steady_clock;
  double Elapsed() const;
  void Draw(int64_t done, bool final_line);

  std::string label_;
  std::string unit_;
  int64_t total_;
  std::FILE* out_;
  bool interactive_;
  Clock::time_point start_;
  std::atomic<int64_t> done_{0};
  std::atomic<int64_t> next_draw_ns_{0};  // since start_
  std::mutex draw_mu_;
  std::atomic<int> last_tenth_{0};  // written under draw_mu_, read without it to skip the lock
  bool finished_ = false;           // guarded by draw_mu_
};

}  // namespace kubecnn::tools
