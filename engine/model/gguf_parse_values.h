// Reading GGUF metadata values (scalars, strings, arrays, nested arrays) from an
// untrusted image. Internal to the GGUF reader.
#pragma once

#include <cstdint>
#include <string>

#include "model/gguf_file.h"
#include "model/gguf_parse_cursor.h"

namespace pagoda::gguf_parse {

// The format allows arrays of arrays; real files nest at most once. Bounding the depth keeps
// recursion (stack) bounded for hostile files.
constexpr int kMaxArrayDepth = 8;

// Every array element becomes a GgufValue (48 bytes) however small it is in the file, so a
// large file of uint8 arrays could cost ~50x its size in RAM. The largest real tokenizers hold
// under 2M array entries in all (262k tokens x 3 arrays + merges); this cap on all array
// elements of a file (8M, at most ~400 MB of values) stops the blow-up.
constexpr uint64_t kMaxMetadataArrayItems = uint64_t{1} << 23;

struct ValueBudget {
    uint64_t array_items_left = kMaxMetadataArrayItems;
};

bool is_valid_value_type(uint32_t raw);
// Fewest bytes one value of `type` takes in the file (a string: its length field; an array:
// element type + count). Used to reject counts before anything is allocated.
uint64_t min_encoded_size(GgufValueType type);

// Reads one value of `type` at the cursor into `out`. `key` is the metadata key, for messages.
Status read_value(Cursor& cursor, GgufValueType type, const std::string& key, int depth, ValueBudget& budget,
                  GgufValue& out);

}  // namespace pagoda::gguf_parse
