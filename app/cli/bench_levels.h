// Pure helpers of `pagoda bench --concurrency`: the list of concurrency levels and the
// summary statistics of one level (no engine, so the unit tests compile them alone).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pagoda::cli {

inline constexpr int32_t kMaxConcurrencyPerLevel = 4096;  // the Engine's max_num_seqs limit
inline constexpr size_t kMaxConcurrencyLevels = 16;

// "1,8,32,128,256" -> {1, 8, 32, 128, 256}. Each item a plain decimal integer in
// [1, kMaxConcurrencyPerLevel], no empty items, at most kMaxConcurrencyLevels items.
// On failure returns false and sets `error` to a message naming the bad item.
bool parse_concurrency_levels(const std::string& text, std::vector<int32_t>& levels, std::string& error);

// Nearest-rank percentile (p in [0, 100]) of unsorted values; 0 for none.
double percentile(std::vector<double> values, double p);
double mean(const std::vector<double>& values);

}  // namespace pagoda::cli
