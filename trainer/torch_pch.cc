// Anchor translation unit for the shared LibTorch precompiled header (see trainer/CMakeLists.txt).
#include <torch/torch.h>
