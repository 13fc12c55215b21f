// The input-pipeline flags shared by every subcommand that reads data (nvcnn's names where it had them).
#pragma once

#include "trainer/common/flags.h"
#include "trainer/data/loader.h"

namespace kubecnn::cli {

// Registers --data_dir, --batch_size, --num_data_threads, --image_size, the crop/augmentation
// flags and the robustness flags, all writing into `options`.
void AddDataFlags(FlagSet& flags, data::LoaderOptions& options);

// Checks what the flags alone can check (ranges, orderings); throws UsageError naming the flag.
void ValidateDataOptions(const data::LoaderOptions& options);

}  // namespace kubecnn::cli
