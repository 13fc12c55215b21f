// Placement from the launcher's environment: OpenMPI first, then KUBECNN_* variables.
#include "trainer/comm/placement.h"

#include <cstdlib>
#include <stdexcept>

namespace kubecnn::comm {
namespace {

constexpr int kDefaultMasterPort = 29500;

int ParseInt(const std::string& name, const std::string& text, int min) {
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value < min || value > (1 << 24)) {
    throw std::invalid_argument(name + "=" + text + " is not " + (min == 0 ? "an integer >= 0" : "an integer >= 1"));
  }
  return static_cast<int>(value);
}

}  // namespace

const char* LauncherName(Launcher launcher) {
  switch (launcher) {
    case Launcher::kNone: return "single process";
    case Launcher::kMpi: return "mpirun";
    case Launcher::kEnv: return "KUBECNN_* environment";
  }
  return "?";
}

Placement PlacementFromEnvironment(const EnvLookup& getenv) {
  Placement p;
  const auto read = [&](const std::string& name, int min, std::optional<int> fallback) -> int {
    const auto value = getenv(name);
    if (!value || value->empty()) {
      if (fallback) return *fallback;
      throw std::invalid_argument(name + " is not set");
    }
    return ParseInt(name, *value, min);
  };
  const auto check = [](const Placement& q, const std::string& source) {
    if (q.rank >= q.world_size) {
      throw std::invalid_argument(source + ": rank " + std::to_string(q.rank) + " is not below the world size " +
                                  std::to_string(q.world_size));
    }
    if (q.local_rank >= q.local_world_size) {
      throw std::invalid_argument(source + ": local rank " + std::to_string(q.local_rank) +
                                  " is not below the local world size " + std::to_string(q.local_world_size));
    }
  };

  if (getenv("OMPI_COMM_WORLD_SIZE")) {
    p.launcher = Launcher::kMpi;
    p.world_size = read("OMPI_COMM_WORLD_SIZE", 1, std::nullopt);
    p.rank = read("OMPI_COMM_WORLD_RANK", 0, std::nullopt);
    p.local_rank = read("OMPI_COMM_WORLD_LOCAL_RANK", 0, 0);
    p.local_world_size = read("OMPI_COMM_WORLD_LOCAL_SIZE", 1, p.local_rank + 1);
    check(p, "OpenMPI environment");
    return p;
  }
  if (getenv("KUBECNN_WORLD_SIZE") || getenv("KUBECNN_RANK")) {
    p.launcher = Launcher::kEnv;
    try {
      p.world_size = read("KUBECNN_WORLD_SIZE", 1, std::nullopt);
      p.rank = read("KUBECNN_RANK", 0, std::nullopt);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string(e.what()) +
                                  " (without mpirun set both KUBECNN_RANK and KUBECNN_WORLD_SIZE, or neither)");
    }
    p.local_rank = read("KUBECNN_LOCAL_RANK", 0, 0);
    p.local_world_size = read("KUBECNN_LOCAL_WORLD_SIZE", 1, p.local_rank + 1);
    p.master_port = read("KUBECNN_MASTER_PORT", 1, kDefaultMasterPort);
    if (p.master_port > 65535) {
      throw std::invalid_argument("KUBECNN_MASTER_PORT=" + std::to_string(p.master_port) + " is not a TCP port");
    }
    p.master_addr = getenv("KUBECNN_MASTER_ADDR").value_or("");
    if (p.world_size > 1 && p.master_addr.empty()) {
      throw std::invalid_argument("KUBECNN_WORLD_SIZE=" + std::to_string(p.world_size) +
                                  " needs KUBECNN_MASTER_ADDR, the host where rank 0 listens for the others");
    }
    check(p, "KUBECNN_* environment");
    return p;
  }
  return p;
}

Placement PlacementFromProcessEnvironment() {
  return PlacementFromEnvironment([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  });
}

}  // namespace kubecnn::comm
