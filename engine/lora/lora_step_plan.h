// One step's LoRA work: the batch's per-sequence adapter sets turned into LoraSegment
// lists for every (layer, target), the form Backend::lora_add takes.
//
// Sequences are contiguous in StepInputs, so an adapter (at one scale) used by a run of
// consecutive sequences becomes one segment over all their token rows. A stack (several
// adapters on one request) gives overlapping segments. Segments are ordered by (adapter
// id, scale, first row), so every row receives its adapters in id order whatever else is
// in the batch: a request's output does not depend on its neighbours.
//
// The last layer may run its row-wise ops on the logit rows only (Transformer gathers
// them); gathered_segments() describes those rows.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "backend/backend.h"
#include "lora/lora_adapter.h"
#include "pagoda/request.h"
#include "pagoda/status.h"

namespace pagoda {

// An adapter's matrices on the backend (from load_weight), per layer and target.
struct ResidentLora {
    struct Module {
        bool present = false;
        Tensor a;  // [rank, in_features]
        Tensor b;  // [out_features, rank]
    };
    float scale = 1.0f;  // the adapter's alpha / rank
    std::vector<std::array<Module, kLoraTargetCount>> layers;
};

class LoraStepPlan {
public:
    using Lookup = std::function<const ResidentLora*(int32_t id)>;

    // seq_sets[s]: sequence s's adapter set (request_adapter_set order), one per
    // inputs.n_seqs(). lookup(id) must give the resident matrices of every id used; they
    // must stay put until the step ends. Fails on an id without matrices or a bad shape.
    Status build(const StepInputs& inputs, std::span<const std::span<const AdapterRef>> seq_sets, int32_t n_layers,
                 const Lookup& lookup);
    void clear();

    bool empty() const { return segments_.empty(); }
    int32_t n_layers() const { return n_layers_; }
    // Segments over all token rows of the step.
    std::span<const LoraSegment> segments(int32_t layer, LoraTarget target) const;
    // Segments over the logit rows (row j = the token inputs.logit_rows[j]), for the last layer.
    std::span<const LoraSegment> gathered_segments(LoraTarget target) const;

private:
    struct Run {
        int32_t id = 0;
        float scale = 1.0f;
        int32_t first_row = 0;
        int32_t n_rows = 0;
        const ResidentLora* lora = nullptr;
    };
    // Appends the segments of `runs` for one (layer, target), then closes its offset entry.
    void emit(const std::vector<Run>& runs, int32_t layer, LoraTarget target);

    int32_t n_layers_ = 0;
    std::vector<LoraSegment> segments_;
    // [n_layers * kLoraTargetCount + kLoraTargetCount + 1]: start of each list in segments_;
    // the last kLoraTargetCount lists are the gathered ones.
    std::vector<uint32_t> offsets_;
    std::vector<Run> runs_, gathered_runs_;
};

}  // namespace pagoda
