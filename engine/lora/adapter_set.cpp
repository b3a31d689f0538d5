#include "lora/adapter_set.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "util/mix64.h"

namespace pagoda {

std::vector<AdapterRef> request_adapter_set(const Request& request) {
    std::vector<AdapterRef> set = request.adapters;
    if (request.adapter_id != 0) set.push_back(AdapterRef{request.adapter_id, 1.0f});
    std::stable_sort(set.begin(), set.end(), [](const AdapterRef& a, const AdapterRef& b) { return a.id < b.id; });
    return set;
}

Status check_adapter_set(std::span<const AdapterRef> set) {
    if (static_cast<int64_t>(set.size()) > kMaxAdaptersPerRequest)
        return invalid_argument("a request may use at most " + std::to_string(kMaxAdaptersPerRequest) +
                                " LoRA adapters, not " + std::to_string(set.size()));
    for (size_t i = 0; i < set.size(); ++i) {
        if (set[i].id <= 0) return invalid_argument("LoRA adapter id " + std::to_string(set[i].id) + " is not valid");
        if (!std::isfinite(set[i].scale))
            return invalid_argument("LoRA adapter " + std::to_string(set[i].id) + ": the scale must be finite");
        for (size_t j = 0; j < i; ++j) {
            if (set[j].id == set[i].id)
                return invalid_argument("LoRA adapter " + std::to_string(set[i].id) +
                                        " is given twice (adapters and adapter_id count together)");
        }
    }
    return Status::ok();
}

uint64_t adapter_set_key(std::span<const AdapterRef> set) {
    if (set.empty()) return 0;
    uint64_t h = mix64(0x6a09e667f3bcc909ull ^ set.size());
    for (const AdapterRef& r : set) {
        h = mix64(h ^ static_cast<uint32_t>(r.id));
        h = mix64(h + std::bit_cast<uint32_t>(r.scale + 0.0f));  // + 0: -0 and 0 are the same scale
    }
    return h == 0 ? 1 : h;
}

}  // namespace pagoda
