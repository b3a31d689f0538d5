// A request's LoRA adapter set in the one form the engine works with: Request::adapters
// plus the Request::adapter_id shorthand, sorted by id. Sorting fixes the order in which a
// stack's adapters are added to each projection, so a request's arithmetic is the same
// whatever else shares its step, and gives the prefix cache an order-free key.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pagoda/request.h"
#include "pagoda/status.h"

namespace pagoda {

// More than this on one request is a mistake, not a use case (and bounds per-step work).
inline constexpr int32_t kMaxAdaptersPerRequest = 16;

// Request::adapters + adapter_id (scale 1) when set, sorted by id. Not checked.
std::vector<AdapterRef> request_adapter_set(const Request& request);

// Ids positive, each at most once, scales finite, at most kMaxAdaptersPerRequest.
Status check_adapter_set(std::span<const AdapterRef> set);

// Prefix-cache key of a sorted set: 0 for the base model (empty set), else a 64-bit hash
// of the ids and the scales' bit patterns (never 0).
uint64_t adapter_set_key(std::span<const AdapterRef> set);

}  // namespace pagoda
