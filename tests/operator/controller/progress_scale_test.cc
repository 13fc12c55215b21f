// Reconcile latency with 500 running jobs whose rank 0 takes 200 ms to answer each scrape: the
// scrapes run off the reconcile passes, so a pass costs what its API writes cost. (Scraping inside
// the pass, as the operator used to, cost every pass the endpoint's delay: 2 s for a hung rank.)
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <thread>

#include "operator/api/defaults.h"
#include "operator/controller/builders.h"
#include "operator/controller/names.h"
#include "operator/controller/pod_builders.h"
#include "operator/controller/ssh_keys.h"
#include "tests/operator/controller/controller_harness.h"
#include "tests/operator/controller/job_fixtures.h"

namespace kubecnn::controller {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr int kJobs = 500;
constexpr milliseconds kScrapeDelay(200);

// Answers every scrape kScrapeDelay after it was asked, from one timer thread, as slow ranks would.
class SlowScraper : public ProgressScraper {
 public:
  SlowScraper() : thread_([this] { Loop(); }) {}
  ~SlowScraper() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void ScrapeAsync(const std::string&, int, Done done) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back({std::chrono::steady_clock::now() + kScrapeDelay, std::move(done)});
    cv_.notify_all();
  }
  int answered() {
    std::lock_guard<std::mutex> lock(mu_);
    return answered_;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (pending_.empty()) {
        cv_.wait(lock);
        continue;
      }
      if (std::chrono::steady_clock::now() < pending_.front().first) {
        cv_.wait_until(lock, pending_.front().first);
        continue;
      }
      Done done = std::move(pending_.front().second);
      pending_.erase(pending_.begin());
      ++answered_;
      lock.unlock();
      api::Progress p;
      p.step = 1234;
      done(p);
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int answered_ = 0;
  std::vector<std::pair<std::chrono::steady_clock::time_point, Done>> pending_;
  std::thread thread_;
};

const ::kubecnn::testing::ApiKind& Kind(const std::string& group, const std::string& plural) {
  return *::kubecnn::testing::FindKind(group, group.empty() ? "v1" : "v1alpha1", plural);
}

// Job `name` with its Service, hostfile, Secret, a Ready worker and a Running launcher, written
// straight into the store (as a running cluster holds them).
void SeedRunningJob(::kubecnn::testing::ApiStore& store, const std::string& name, const SshKeyPair& keys) {
  api::TrainingJob typed = testing::MakeJob(1, 1);
  typed.metadata["name"] = name;
  json object = api::ToJson(typed);
  object.erase("status");
  object["metadata"].erase("uid");
  object["metadata"].erase("generation");
  const api::DefaultedJob job =
      api::Defaulted(api::TrainingJobFromJson(store.Create(Kind("kubecnn.io", "trainingjobs"), "ml", object)));
  store.Create(Kind("", "services"), "ml", HeadlessService(job));
  store.Create(Kind("", "configmaps"), "ml", HostfileConfigMap(job));
  store.Create(Kind("", "secrets"), "ml", SshSecret(job, keys));
  const auto& pods = Kind("", "pods");
  for (json pod :
       {testing::Ready(WorkerPod(job, 0, 0), "10.9.0.1"), testing::Running(LauncherPod(job, kStageTrain, 0))}) {
    const json status = pod["status"];
    pod.erase("status");
    json created = store.Create(pods, "ml", pod);
    created["status"] = status;
    created["metadata"].erase("resourceVersion");
    store.Update(pods, "ml", created["metadata"]["name"], created, /*status_subresource=*/true);
  }
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

TEST(ProgressAtScale, FiveHundredRunningJobsWithSlowRanksCostNoReconcileLatency) {
  testing::ControllerHarness h;
  const SshKeyPair keys = GenerateSshKeyPair();
  for (int i = 0; i < kJobs; ++i) SeedRunningJob(h.server_.store(), "j" + std::to_string(i), keys);
  auto scraper = std::make_shared<SlowScraper>();
  prometheus::Registry registry;
  Controller controller(*h.client_, testing::FastOptions(), scraper, registry);
  controller.StartInformers();
  ASSERT_TRUE(controller.WaitForSync(std::chrono::seconds(30)));

  // Passes run here, one after another, each timed; the first of each job starts its scrape.
  std::vector<double> passes_ms;
  const auto pass = [&](const std::string& key) {
    const auto start = std::chrono::steady_clock::now();
    controller.Reconcile(key);
    passes_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  };
  const auto with_progress = [&] {
    int n = 0;
    for (int i = 0; i < kJobs; ++i) n += h.Status("j" + std::to_string(i)).progress.has_value();
    return n;
  };
  const auto round_start = std::chrono::steady_clock::now();
  for (int i = 0; i < kJobs; ++i) pass("ml/j" + std::to_string(i));
  const double round_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - round_start).count();
  ASSERT_TRUE(h.WaitFor([&] { return scraper->answered() == kJobs; }, "every scrape answered"));
  // Until every job's status shows its progress (a pass may find its last status write not yet
  // in the cache and come back later).
  for (int round = 0; round < 50 && with_progress() < kJobs; ++round) {
    for (int i = 0; i < kJobs; ++i) {
      if (!h.Status("j" + std::to_string(i)).progress) pass("ml/j" + std::to_string(i));
    }
  }
  EXPECT_EQ(with_progress(), kJobs);
  const double p50 = Percentile(passes_ms, 0.5), p99 = Percentile(passes_ms, 0.99);
  const double max = *std::max_element(passes_ms.begin(), passes_ms.end());
  std::cout << kJobs << " running jobs, " << passes_ms.size() << " passes: p50 " << p50 << " ms, p99 " << p99
            << " ms, max " << max << " ms; first round " << round_ms << " ms (scrapes answer after "
            << kScrapeDelay.count() << " ms)\n";
  EXPECT_LT(p99, kScrapeDelay.count() / 2.0) << "a pass waited for a scrape";
  EXPECT_LT(round_ms, kJobs * kScrapeDelay.count() / 10.0) << "passes ran one scrape delay each";
}

}  // namespace
}  // namespace kubecnn::controller
