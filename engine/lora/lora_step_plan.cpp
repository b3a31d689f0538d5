#include "lora/lora_step_plan.h"

#include <algorithm>
#include <bit>
#include <map>
#include <string>
#include <utility>

namespace pagoda {
namespace {

struct Unit {
    int32_t first_row = 0;
    int32_t n_rows = 0;
    std::span<const AdapterRef> set;
};

template <typename Run>
void make_runs(std::span<const Unit> units, std::vector<Run>& runs) {
    runs.clear();
    // (id, scale bits) -> index of its latest run.
    std::map<std::pair<int32_t, uint32_t>, size_t> open;
    for (const Unit& u : units) {
        if (u.n_rows <= 0) continue;
        for (const AdapterRef& ref : u.set) {
            const auto key = std::make_pair(ref.id, std::bit_cast<uint32_t>(ref.scale));
            auto it = open.find(key);
            if (it != open.end()) {
                Run& r = runs[it->second];
                if (r.first_row + r.n_rows == u.first_row) {
                    r.n_rows += u.n_rows;
                    continue;
                }
            }
            Run r;
            r.id = ref.id;
            r.scale = ref.scale;
            r.first_row = u.first_row;
            r.n_rows = u.n_rows;
            open[key] = runs.size();
            runs.push_back(r);
        }
    }
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
        if (a.id != b.id) return a.id < b.id;
        if (a.scale != b.scale) return a.scale < b.scale;
        return a.first_row < b.first_row;
    });
}

}  // namespace

void LoraStepPlan::clear() {
    n_layers_ = 0;
    segments_.clear();
    offsets_.clear();
    runs_.clear();
    gathered_runs_.clear();
}

Status LoraStepPlan::build(const StepInputs& inputs, std::span<const std::span<const AdapterRef>> seq_sets,
                           int32_t n_layers, const Lookup& lookup) {
    clear();
    const int32_t n_seqs = inputs.n_seqs();
    if (static_cast<int32_t>(seq_sets.size()) != n_seqs ||
        static_cast<int32_t>(inputs.query_start.size()) != n_seqs + 1)
        return invalid_argument("LoRA plan: one adapter set per sequence is needed");
    if (n_layers <= 0) return invalid_argument("LoRA plan: the model has no layers");

    std::vector<Unit> units(static_cast<size_t>(n_seqs));
    for (int32_t s = 0; s < n_seqs; ++s) {
        units[static_cast<size_t>(s)] = {inputs.query_start[s], inputs.query_start[s + 1] - inputs.query_start[s],
                                         seq_sets[static_cast<size_t>(s)]};
    }
    make_runs<Run>(units, runs_);
    // Logit row j belongs to the sequence whose tokens hold inputs.logit_rows[j].
    std::vector<Unit> rows(inputs.logit_rows.size());
    for (size_t j = 0; j < rows.size(); ++j) {
        const int32_t token = inputs.logit_rows[j];
        const auto it = std::upper_bound(inputs.query_start.begin(), inputs.query_start.end(), token);
        const auto s = static_cast<size_t>(std::max<ptrdiff_t>(it - inputs.query_start.begin() - 1, 0));
        rows[j] = {static_cast<int32_t>(j), 1, s < seq_sets.size() ? seq_sets[s] : std::span<const AdapterRef>{}};
    }
    make_runs<Run>(rows, gathered_runs_);

    for (std::vector<Run>* runs : {&runs_, &gathered_runs_}) {
        for (Run& r : *runs) {
            r.lora = lookup(r.id);
            if (!r.lora) return invalid_argument("LoRA plan: adapter " + std::to_string(r.id) + " is not resident");
            if (static_cast<int32_t>(r.lora->layers.size()) > n_layers)
                return invalid_argument("LoRA plan: adapter " + std::to_string(r.id) +
                                        " has more layers than the model");
        }
    }
    if (runs_.empty()) {
        clear();
        return Status::ok();
    }
    n_layers_ = n_layers;
    offsets_.reserve(static_cast<size_t>(n_layers + 1) * kLoraTargetCount + 1);
    offsets_.push_back(0);
    for (int32_t l = 0; l < n_layers; ++l) {
        for (int32_t t = 0; t < kLoraTargetCount; ++t) emit(runs_, l, static_cast<LoraTarget>(t));
    }
    for (int32_t t = 0; t < kLoraTargetCount; ++t) emit(gathered_runs_, n_layers - 1, static_cast<LoraTarget>(t));
    return Status::ok();
}

void LoraStepPlan::emit(const std::vector<Run>& runs, int32_t layer, LoraTarget target) {
    for (const Run& r : runs) {
        if (layer >= static_cast<int32_t>(r.lora->layers.size())) continue;
        const ResidentLora::Module& m = r.lora->layers[static_cast<size_t>(layer)][static_cast<size_t>(target)];
        if (!m.present) continue;
        LoraSegment seg;
        seg.first_row = r.first_row;
        seg.n_rows = r.n_rows;
        seg.a = &m.a;
        seg.b = &m.b;
        seg.scale = r.lora->scale * r.scale;
        segments_.push_back(seg);
    }
    offsets_.push_back(static_cast<uint32_t>(segments_.size()));
}

std::span<const LoraSegment> LoraStepPlan::segments(int32_t layer, LoraTarget target) const {
    if (layer < 0 || layer >= n_layers_) return {};
    const size_t i = static_cast<size_t>(layer) * kLoraTargetCount + static_cast<size_t>(target);
    return std::span<const LoraSegment>(segments_).subspan(offsets_[i], offsets_[i + 1] - offsets_[i]);
}

std::span<const LoraSegment> LoraStepPlan::gathered_segments(LoraTarget target) const {
    if (n_layers_ == 0) return {};
    const size_t i = static_cast<size_t>(n_layers_) * kLoraTargetCount + static_cast<size_t>(target);
    return std::span<const LoraSegment>(segments_).subspan(offsets_[i], offsets_[i + 1] - offsets_[i]);
}

}  // namespace pagoda
