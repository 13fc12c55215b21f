// Keeping freed host memory in the process for CPU training, where glibc's defaults cost a third of
// the speed of a big model.
#pragma once

namespace kubecnn::engine {

// A CPU training step allocates and frees the same large activation buffers every step (ResNet-50
// at batch 16: dozens of 10-50 MB tensors). glibc serves anything over 32 MB with mmap and returns
// it with munmap, and trims its heap top after large frees, so every step page-faults its
// activations in again: on a 2-core machine `kubecnn-trainer bench --model=resnet50` ran at 2.5-4.6
// images/s with 3.0 M page faults against 7.2-8.1 and 0.7 M with the memory kept. This makes
// glibc serve large blocks from its heap and never trim it, so the process keeps its peak: the
// same trade jemalloc or tcmalloc make, which PyTorch recommends for CPU training.
//
// Does nothing when the user tuned malloc already (MALLOC_*_ variables or GLIBC_TUNABLES) or
// preloads another allocator. Returns whether it changed the settings.
bool RetainFreedHostMemory();

}  // namespace kubecnn::engine
