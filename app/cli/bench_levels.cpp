#include "bench_levels.h"

#include <algorithm>
#include <cmath>

namespace pagoda::cli {

bool parse_concurrency_levels(const std::string& text, std::vector<int32_t>& levels, std::string& error) {
    levels.clear();
    if (text.empty()) {
        error = "--concurrency expects a comma-separated list of request counts, such as 1,8,32";
        return false;
    }
    size_t start = 0;
    for (;;) {
        const size_t comma = text.find(',', start);
        const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (levels.size() == kMaxConcurrencyLevels) {
            error = "--concurrency: at most " + std::to_string(kMaxConcurrencyLevels) + " levels";
            return false;
        }
        if (item.empty()) {
            error = "--concurrency: empty item in '" + text + "'";
            return false;
        }
        // Digits only: no sign, spaces, decimals or exponents. Leading zeros are harmless.
        const bool digits = std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits) {
            error = "--concurrency: '" + item + "' is not a positive whole number";
            return false;
        }
        // Compare without converting, so a huge item cannot overflow.
        const size_t nz = std::min(item.find_first_not_of('0'), item.size());
        const std::string trimmed = item.substr(nz);
        const std::string max_text = std::to_string(kMaxConcurrencyPerLevel);
        if (trimmed.empty()) {
            error = "--concurrency: a level must be at least 1 (got '" + item + "')";
            return false;
        }
        if (trimmed.size() > max_text.size() || (trimmed.size() == max_text.size() && trimmed > max_text)) {
            error = "--concurrency: '" + item + "' is more than " + max_text + " requests at once";
            return false;
        }
        levels.push_back(static_cast<int32_t>(std::stol(trimmed)));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return true;
}

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0.0;
    std::sort(values.begin(), values.end());
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    const double rank = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size()));
    const size_t index = rank < 1.0 ? 0 : static_cast<size_t>(rank) - 1;
    return values[std::min(index, values.size() - 1)];
}

double mean(const std::vector<double>& values) {
    if (values.empty()) return 0.0;
    double s = 0;
    for (double v : values) s += v;
    return s / static_cast<double>(values.size());
}

}  // namespace pagoda::cli
