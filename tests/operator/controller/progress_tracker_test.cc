// ProgressTracker: scrapes start off the caller, one in flight per job and one per period; a result
// is handed out once and wakes its job; results of forgotten jobs or a destroyed tracker are dropped.
#include "operator/controller/progress_tracker.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include "tests/support/fake_clock.h"

namespace kubecnn::controller {
namespace {

using std::chrono::seconds;

// Keeps each scrape's callback for the test to answer.
class ManualScraper : public ProgressScraper {
 public:
  void ScrapeAsync(const std::string& host, int port, Done done) override {
    std::lock_guard<std::mutex> lock(mu_);
    asked_.push_back(host + ":" + std::to_string(port));
    pending_.push_back(std::move(done));
  }
  size_t asked() {
    std::lock_guard<std::mutex> lock(mu_);
    return asked_.size();
  }
  void Answer(std::optional<api::Progress> p) {
    Done done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done = std::move(pending_.front());
      pending_.erase(pending_.begin());
    }
    done(p);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> asked_;
  std::vector<Done> pending_;
};

api::Progress Step(int64_t step) {
  api::Progress p;
  p.step = step;
  return p;
}

TEST(ProgressTracker, OneScrapeInFlightOnePerPeriodEachResultHandedOutOnce) {
  testing::FakeClock clock;
  auto scraper = std::make_shared<ManualScraper>();
  std::vector<std::string> woken;
  ProgressTracker tracker(scraper, seconds(15), clock, [&](const std::string& key) { woken.push_back(key); });

  EXPECT_FALSE(tracker.Poll("ml/a", "10.0.0.1", 9400)) << "nothing scraped yet";
  EXPECT_EQ(scraper->asked(), 1u);
  EXPECT_FALSE(tracker.Poll("ml/a", "10.0.0.1", 9400));
  EXPECT_EQ(scraper->asked(), 1u) << "one in flight per job";

  scraper->Answer(Step(100));
  EXPECT_EQ(woken, std::vector<std::string>{"ml/a"}) << "the result wakes its job";
  EXPECT_EQ(tracker.Poll("ml/a", "10.0.0.1", 9400)->step, 100);
  EXPECT_FALSE(tracker.Poll("ml/a", "10.0.0.1", 9400)) << "handed out once";
  EXPECT_EQ(scraper->asked(), 1u) << "the period has not passed";

  clock.Advance(seconds(15));
  EXPECT_FALSE(tracker.Poll("ml/a", "10.0.0.1", 9400));
  EXPECT_EQ(scraper->asked(), 2u) << "a new period, a new scrape";
  scraper->Answer(std::nullopt);
  EXPECT_EQ(woken.size(), 1u) << "nothing found: no pass needed";
}

TEST(ProgressTracker, ResultsOfForgottenJobsAndOfADestroyedTrackerAreDropped) {
  testing::FakeClock clock;
  auto scraper = std::make_shared<ManualScraper>();
  int woken = 0;
  {
    ProgressTracker tracker(scraper, seconds(15), clock, [&](const std::string&) { ++woken; });
    tracker.Poll("ml/a", "10.0.0.1", 9400);
    tracker.Forget("ml/a");
    tracker.Poll("ml/a", "10.0.0.2", 9400);  // a new job of the same name
    scraper->Answer(Step(1));                // the old job's scrape
    EXPECT_EQ(woken, 0);
    EXPECT_FALSE(tracker.Poll("ml/a", "10.0.0.2", 9400)) << "not the new job's progress";
  }
  scraper->Answer(Step(2));  // after the tracker is gone
  EXPECT_EQ(woken, 0);
}

}  // namespace
}  // namespace kubecnn::controller
