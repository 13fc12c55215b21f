// libFuzzer target: arbitrary bytes as a kubeconfig. The operator reads one from a file or a
// mounted Secret; a malformed one must be refused with an exception, never crash, hang or leak,
// and one that parses must name a server.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "operator/kube/kubeconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  // Referenced files (certificate-authority: ca.pem, tokenFile, ...) read as a fixed PEM, or fail.
  const kubecnn::kube::FileReader files = [](const std::string& path) -> std::string {
    if (path.size() % 2 == 0) throw std::runtime_error("no such file: " + path);
    return "-----BEGIN CERTIFICATE-----\nTUlJ\n-----END CERTIFICATE-----\n";
  };
  try {
    const kubecnn::kube::RestConfig config = kubecnn::kube::ParseKubeconfig(yaml, "/fuzz/kubeconfig", "", files);
    if (config.server.empty()) __builtin_trap();
  } catch (const std::exception&) {  // refused, with a message: fine
  }
  return 0;
}
