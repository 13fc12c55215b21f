// Standard base64 (RFC 4648 section 4, with padding), as Kubernetes uses it for Secret data,
// kubeconfig *-data fields and continue tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kubecnn::kube {

std::string Base64Encode(std::string_view bytes);

// Whitespace (line breaks in pasted PEM data) is ignored; padding is optional. nullopt when any
// other character is outside the alphabet or the length cannot be base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace kubecnn::kube
