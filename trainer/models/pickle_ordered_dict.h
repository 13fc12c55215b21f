// Makes torch.save(model.state_dict(), f) readable by LibTorch: OrderedDicts become plain dicts.
#pragma once

#include <string>
#include <string_view>

namespace kubecnn::models {

// Rewrites a pickle (protocol 2, as torch.save writes data.pkl) for LibTorch's unpickler, which
// expects collections.OrderedDict only as a tensor's empty backward hooks and turns it into None,
// so that it cannot read the OrderedDict that module.state_dict() returns (LibTorch 1.13 through
// 2.11 at least). Every OrderedDict() is built as a plain dict instead (the class itself, and the
// memo slots holding it, disappear from the stream), and the BUILD that would then set its
// attributes (a state dict's _metadata) becomes TUPLE2: the pair (dict, attributes), which the
// reader unwraps. Only opcodes LibTorch's unpickler knows are emitted, and a pickle without
// OrderedDict comes back unchanged. Throws std::invalid_argument for a truncated or non-protocol-2
// stream, or an OrderedDict built other than as OrderedDict() followed by SETITEMS.
std::string OrderedDictsAsPlainDicts(std::string_view pickle);

}  // namespace kubecnn::models
