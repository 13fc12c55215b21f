// MPI collectives: blocking calls (OpenMPI's tuned algorithms; its non-blocking ones progress only
// when polled and ran at half the speed) watched by a thread that stops the job past the deadline.
// A side channel carries each rank's "entered collective N" and, while it waits, a beat a second,
// so the watchdog can say which ranks never arrived and which arrived but went silent.
#include "trainer/comm/mpi_communicator.h"

#include <mpi.h>

#include <climits>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace kubecnn::comm {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kHeartbeat = std::chrono::seconds(1);

// MPI has no 16-bit float sum; these ops add c10::Half / c10::BFloat16 in float.
template <typename T>
void SumAs(void* in, void* inout, int* len, MPI_Datatype*) {
  const T* a = static_cast<const T*>(in);
  T* b = static_cast<T*>(inout);
  for (int i = 0; i < *len; ++i) b[i] = static_cast<T>(static_cast<float>(a[i]) + static_cast<float>(b[i]));
}

class MpiSession {
 public:
  static MpiSession& Get() {
    static MpiSession session;
    return session;
  }
  MPI_Op half_sum() const { return half_sum_; }
  MPI_Op bfloat16_sum() const { return bfloat16_sum_; }

 private:
  MpiSession() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
      if (provided < MPI_THREAD_MULTIPLE) {
        throw CommError("this MPI library offers thread level " + std::to_string(provided) +
                        "; kubecnn-trainer needs MPI_THREAD_MULTIPLE (its watchdog talks while a collective runs; "
                        "use an OpenMPI built with thread support)");
      }
      owned_ = true;
    }
    MPI_Op_create(&SumAs<c10::Half>, /*commute=*/1, &half_sum_);
    MPI_Op_create(&SumAs<c10::BFloat16>, /*commute=*/1, &bfloat16_sum_);
  }
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && !finalized) MPI_Finalize();
  }
  bool owned_ = false;
  MPI_Op half_sum_ = MPI_OP_NULL;
  MPI_Op bfloat16_sum_ = MPI_OP_NULL;
};

struct Transfer {
  MPI_Datatype type;
  MPI_Op sum;
};

Transfer TransferFor(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return {MPI_FLOAT, MPI_SUM};
    case torch::kFloat64: return {MPI_DOUBLE, MPI_SUM};
    case torch::kInt64: return {MPI_INT64_T, MPI_SUM};
    case torch::kInt32: return {MPI_INT32_T, MPI_SUM};
    case torch::kUInt8: return {MPI_UINT8_T, MPI_SUM};
    case torch::kHalf: return {MPI_UINT16_T, MpiSession::Get().half_sum()};
    case torch::kBFloat16: return {MPI_UINT16_T, MpiSession::Get().bfloat16_sum()};
    default: throw CommError(std::string("MPI collectives do not handle ") + c10::toString(dtype) + " tensors");
  }
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(const CommOptions& options) : options_(options) {
    MpiSession::Get();
    MPI_Comm_dup(MPI_COMM_WORLD, &data_);
    MPI_Comm_dup(MPI_COMM_WORLD, &arrivals_);
    MPI_Comm_rank(data_, &rank_);
    MPI_Comm_size(data_, &world_);
    latest_.assign(static_cast<size_t>(world_), 0);
    last_heard_.assign(static_cast<size_t>(world_), Clock::now());
    inbox_.assign(static_cast<size_t>(world_), 0);
    receives_.assign(static_cast<size_t>(world_), MPI_REQUEST_NULL);
    for (int peer = 0; peer < world_; ++peer) PostReceive(peer);
    watchdog_ = std::thread([this] { Watch(); });
  }

  ~MpiCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    watchdog_.join();
    // Outstanding arrival messages are cancelled; a clean shutdown first agrees nobody sends more.
    for (MPI_Request& r : receives_) {
      if (r != MPI_REQUEST_NULL) {
        MPI_Cancel(&r);
        MPI_Request_free(&r);
      }
    }
    for (auto& s : sends_) MPI_Request_free(&s.request);
    MPI_Comm_free(&arrivals_);
    MPI_Comm_free(&data_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string name() const override { return "mpi"; }
  torch::Device device() const override { return torch::kCPU; }

  void AllReduce(torch::Tensor& tensor, ReduceOp op, const std::optional<c10::Event>&) override {
    Check(tensor, "all-reduce");
    const Transfer t = TransferFor(tensor.scalar_type());
    if (op == ReduceOp::kAverage && !tensor.is_floating_point()) {
      throw CommError("averaging an integer tensor over ranks would truncate; sum it instead");
    }
    Run("all-reduce",
        [&] { return MPI_Allreduce(MPI_IN_PLACE, tensor.data_ptr(), Count(tensor), t.type, t.sum, data_); });
    if (op == ReduceOp::kAverage) tensor.div_(world_);
  }

  void Broadcast(torch::Tensor& tensor, int root) override {
    Check(tensor, "broadcast");
    const Transfer t = TransferFor(tensor.scalar_type());
    Run("broadcast", [&] { return MPI_Bcast(tensor.data_ptr(), Count(tensor), t.type, root, data_); });
  }

  void Barrier() override {
    Run("barrier", [&] { return MPI_Barrier(data_); });
  }

  [[noreturn]] void AbortJob(int exit_code) override {
    std::fflush(nullptr);
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
  }

 private:
  struct Send {
    int64_t seq;
    MPI_Request request;
  };

  void Check(const torch::Tensor& tensor, const char* what) const {
    if (!tensor.device().is_cpu() || !tensor.is_contiguous()) {
      throw CommError(std::string("MPI ") + what + " needs a contiguous CPU tensor, got one on " +
                      tensor.device().str());
    }
  }

  static int Count(const torch::Tensor& tensor) {
    if (tensor.numel() > INT_MAX) {
      throw CommError("a " + std::to_string(tensor.numel()) +
                      "-element collective exceeds MPI's int count; lower --fusion_threshold_mb");
    }
    return static_cast<int>(tensor.numel());
  }

  void PostReceive(int peer) {
    if (peer == rank_) return;
    MPI_Irecv(&inbox_[peer], 1, MPI_INT64_T, peer, /*tag=*/0, arrivals_, &receives_[peer]);
  }

  // Under mu_: records every arrival message received so far and reaps finished sends.
  void PollArrivalsLocked() {
    for (int peer = 0; peer < world_; ++peer) {
      if (peer == rank_) continue;
      int done = 1;
      while (done) {
        MPI_Test(&receives_[peer], &done, MPI_STATUS_IGNORE);
        if (!done) break;
        latest_[peer] = std::max(latest_[peer], inbox_[peer]);
        last_heard_[peer] = Clock::now();
        PostReceive(peer);
      }
    }
    while (!sends_.empty()) {
      int done = 0;
      MPI_Test(&sends_.front().request, &done, MPI_STATUS_IGNORE);
      if (!done) break;
      sends_.pop_front();
    }
  }

  // Under mu_: tells every peer that this rank is in collective `seq` (and alive).
  void AnnounceLocked(int64_t seq) {
    for (int peer = 0; peer < world_; ++peer) {
      if (peer == rank_) continue;
      sends_.push_back({seq, MPI_REQUEST_NULL});
      MPI_Isend(&sends_.back().seq, 1, MPI_INT64_T, peer, /*tag=*/0, arrivals_, &sends_.back().request);
    }
  }

  // Announces collective `seq` to every peer and runs it; the watchdog keeps time meanwhile.
  template <typename Collective>
  void Run(const char* what, Collective collective) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ = {what, ++seq_, Clock::now(), Clock::now()};
      AnnounceLocked(seq_);
    }
    const int rc = collective();
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.what = nullptr;
    if (rc != MPI_SUCCESS)
      throw CommError(std::string("MPI ") + what + " failed with error code " + std::to_string(rc));
  }

  // The watchdog: drains the side channel, beats while a collective waits, and past the deadline
  // prints who is missing and stops the job (a blocked collective cannot be cancelled).
  void Watch() {
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_) return;
      PollArrivalsLocked();
      if (in_flight_.what == nullptr) continue;
      const auto now = Clock::now();
      if (now - in_flight_.last_beat > kHeartbeat) {
        AnnounceLocked(in_flight_.seq);
        in_flight_.last_beat = now;
      }
      if (now - in_flight_.begin > options_.timeout) {
        const std::string message = TimedOutLocked(in_flight_.what, in_flight_.seq, in_flight_.begin).what();
        lock.unlock();
        std::fprintf(stderr, "kubecnn-trainer: %s\n", message.c_str());
        AbortJob(1);
      }
    }
  }

  CommError TimedOutLocked(const char* what, int64_t seq, Clock::time_point begin) {
    std::string missing, silent;
    const auto now = Clock::now();
    for (int peer = 0; peer < world_; ++peer) {
      if (peer == rank_) continue;
      if (latest_[peer] < seq) {
        missing += (missing.empty() ? "" : ", ") + std::to_string(peer) + " (last at collective " +
                   std::to_string(latest_[peer]) + ")";
      } else if (now - last_heard_[peer] > 3 * kHeartbeat && now - begin > 3 * kHeartbeat) {
        const auto quiet = std::chrono::duration_cast<std::chrono::seconds>(now - last_heard_[peer]).count();
        silent += (silent.empty() ? "" : ", ") + std::to_string(peer) + " (silent for " + std::to_string(quiet) + " s)";
      }
    }
    std::string why;
    if (!missing.empty()) why = "rank(s) " + missing + " never arrived (dead, hung, or on another code path)";
    if (!silent.empty()) {
      why += (why.empty() ? "" : "; ") + std::string("rank(s) ") + silent +
             " arrived but stopped responding (hung or stopped)";
    }
    if (why.empty()) why = "every rank arrived and is alive, so the transport itself stalled (check the network)";
    return CommError("rank " + std::to_string(rank_) + ": MPI " + what + " #" + std::to_string(seq) +
                     " did not finish within --collective_timeout=" + std::to_string(options_.timeout.count()) +
                     " s: " + why + ". The job stops so that it can be restarted from its last checkpoint.");
  }

  CommOptions options_;
  MPI_Comm data_ = MPI_COMM_NULL;
  MPI_Comm arrivals_ = MPI_COMM_NULL;
  int rank_ = 0;
  int world_ = 1;
  struct InFlight {
    const char* what = nullptr;  // nullptr: no collective running
    int64_t seq = 0;
    Clock::time_point begin, last_beat;
  };

  std::mutex mu_;  // guards everything below and every call on the side channel
  int64_t seq_ = 0;
  InFlight in_flight_;
  bool stop_ = false;
  std::thread watchdog_;
  std::vector<int64_t> latest_;  // newest collective each peer announced
  std::vector<Clock::time_point> last_heard_;
  std::vector<int64_t> inbox_;
  std::vector<MPI_Request> receives_;
  std::deque<Send> sends_;  // deque: addresses stay valid while MPI reads them
};

}  // namespace

std::unique_ptr<Communicator> CreateMpiCommunicator(const CommOptions& options) {
  return std::make_unique<MpiCommunicator>(options);
}

void MpiBroadcastBytes(std::string& bytes) {
  MpiSession::Get();
  int64_t size = static_cast<int64_t>(bytes.size());
  MPI_Bcast(&size, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  bytes.resize(static_cast<size_t>(size));
  MPI_Bcast(bytes.data(), static_cast<int>(size), MPI_BYTE, 0, MPI_COMM_WORLD);
}

}  // namespace kubecnn::comm
