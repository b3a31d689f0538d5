// The checks every backend runs in begin_step(): a batch is built by our scheduler, but a
// wrong one must end in a clear error, never in an out-of-bounds read of the KV pool.
#pragma once

#include "backend/backend.h"
#include "pagoda/status.h"

namespace pagoda {

// Checks that the spans agree in size, query_start runs monotonically from 0 to n_tokens,
// positions lie inside their sequence's context, and (when kv is not null) every block id
// and KV slot lies inside the pool and each token's slot is the one its block table names
// for its position (attention reads the token's own K/V back through the table).
Status validate_step_inputs(const StepInputs& in, const KvCacheConfig* kv);

}  // namespace pagoda
