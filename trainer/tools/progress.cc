// Progress bar formatting and throttled, thread-safe drawing.
#include "trainer/tools/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace kubecnn::tools {
namespace {

constexpr int64_t kRedrawIntervalNs = 100'000'000;  // at most ~10 redraws a second

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buf[48];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  }
  return buf;
}

std::string FormatProgressLine(std::string_view label, std::string_view unit, int64_t done, int64_t total,
                               double elapsed_seconds, int bar_width) {
  const double fraction =
      total > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(fraction * bar_width);
  std::string line(label);
  line += " [" + std::string(filled, '#') + std::string(bar_width - filled, '-') + "] ";
  line += std::to_string(done) + "/" + std::to_string(total) + "  " + Fixed(100.0 * fraction, 1) + "%";
  const double rate = elapsed_seconds > 0 ? static_cast<double>(done) / elapsed_seconds : 0.0;
  line += "  " + Fixed(rate, rate < 10 ? 1 : 0) + " " + std::string(unit) + "/s";
  if (done >= total) {
    line += "  in " + FormatDuration(elapsed_seconds);
  } else {
    line += "  ETA " + FormatDuration(rate > 0 ? static_cast<double>(total - done) / rate : -1.0);
  }
  return line;
}

ProgressBar::ProgressBar(std::string label, std::string unit, int64_t total, std::FILE* out)
    : ProgressBar(std::move(label), std::move(unit), total, out, ::isatty(::fileno(out)) == 1) {}

ProgressBar::ProgressBar(std::string label, std::string unit, int64_t total, std::FILE* out, bool interactive)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      out_(out),
      interactive_(interactive),
      start_(Clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

double ProgressBar::Elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void ProgressBar::Add(int64_t n) {
  const int64_t done = done_.fetch_add(n) + n;
  if (interactive_) {
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
    int64_t due = next_draw_ns_.load();
    if (now_ns < due || !next_draw_ns_.compare_exchange_strong(due, now_ns + kRedrawIntervalNs)) return;
  } else if (total_ <= 0 || done * 10 / total_ <= last_tenth_.load()) {
    return;  // re-checked under the lock
  }
  std::unique_lock<std::mutex> lock(draw_mu_, std::try_to_lock);
  if (lock.owns_lock() && !finished_) Draw(done, false);
}

void ProgressBar::Finish() {
  std::lock_guard<std::mutex> lock(draw_mu_);
  if (finished_) return;
  Draw(done_.load(), true);
  finished_ = true;
}

void ProgressBar::Draw(int64_t done, bool final_line) {
  const std::string line = FormatProgressLine(label_, unit_, done, total_, Elapsed());
  if (interactive_) {
    // Clear to end of line so a shorter line leaves no tail of the previous one.
    std::fprintf(out_, "\r%s\x1b[K%s", line.c_str(), final_line ? "\n" : "");
  } else {
    const int tenth = total_ > 0 ? static_cast<int>(std::min<int64_t>(10, done * 10 / total_)) : 10;
    if (!final_line && tenth <= last_tenth_) return;
    if (final_line && tenth == last_tenth_ && last_tenth_ == 10) return;  // 100% already printed
    last_tenth_ = tenth;
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

}  // namespace kubecnn::tools
