// Running independent work items on a fixed number of threads, with the first error rethrown.
#pragma once

#include <cstddef>
#include <functional>

namespace kubecnn::tools {

// Calls work(i) for every i in [0, count) from up to `num_threads` threads; each item runs on
// exactly one thread, items are handed out in increasing order. When an item throws, no new items
// start and the first exception is rethrown here after every thread has stopped.
void ParallelFor(size_t count, int num_threads, const std::function<void(size_t)>& work);

// --num_threads=0 means one per hardware thread.
int ResolveThreadCount(int requested);

}  // namespace kubecnn::tools
