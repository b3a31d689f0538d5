// EngineCore's token choice for one step: every sampled row becomes a RowSamplingRequest
// (backend/row_sampling.h) with the sequence's next random number, the backend chooses
// next to the logits when it can (a GPU copies back ids, not [rows, vocab] floats), the
// host samples the rest, and accept_token appends each token and applies the stops.
#include <algorithm>
#include <limits>

#include "engine/engine_core.h"

namespace pagoda {

RowSamplingRequest EngineCore::row_request(SeqState& st, int32_t row) {
    const SamplingParams& p = st.req->request.sampling;
    RowSamplingRequest r = row_sampling_request(p, row);
    if (p.temperature > 0.0f) r.uniform = st.sampler.next_uniform();
    if (penalties_enabled(p)) r.penalties = st.penalties.entries();
    return r;
}

Status EngineCore::sample_step(const SchedulerOutput& out, const Tensor* device_logits) {
    Backend& backend = model_.transformer().backend();
    int32_t host_row_index = -1;  // which device row host_row_ holds (parallel samples share one)
    const auto row_of = [&](int32_t row) -> Result<std::span<const float>> {
        const size_t vocab = static_cast<size_t>(n_vocab_);
        if (!device_logits) return std::span<const float>(logits_.data() + static_cast<size_t>(row) * vocab, vocab);
        if (row != host_row_index) {
            host_row_.resize(vocab);
            PAGODA_RETURN_IF_ERROR(backend.read(device_logits->row_slice(row, 1), host_row_.data()));
            host_row_index = row;
        }
        return std::span<const float>(host_row_);
    };

    sampling_seqs_.clear();
    sampling_requests_.clear();
    const auto& sampled = batch_.sampled();
    for (size_t r = 0; r < sampled.size(); ++r) {
        SeqState& st = *seqs_.at(out.scheduled[static_cast<size_t>(sampled[r])].seq->id);
        if (st.done) continue;
        const int32_t row = static_cast<int32_t>(r);
        RequestState& req = *st.req;
        if (req.request.return_prompt_logits && !req.prompt_logits_sent) {
            req.prompt_logits_sent = true;
            delta_for(req, 0);
            Result<std::span<const float>> values = row_of(row);
            if (!values) return values.status();
            req.pending.prompt_logits.assign(values->begin(), values->end());
        }
        const size_t first_child = req.live.size();
        if (st.seq->fork_count > 1) fork(st);
        sampling_seqs_.push_back(&st);
        for (size_t c = first_child; c < req.live.size(); ++c) sampling_seqs_.push_back(req.live[c]);
        while (sampling_requests_.size() < sampling_seqs_.size())
            sampling_requests_.push_back(row_request(*sampling_seqs_[sampling_requests_.size()], row));
    }

    sampling_results_.assign(sampling_requests_.size(), RowSamplingResult{});
    if (device_logits && !sampling_requests_.empty()) {
        const Status on_device = backend.sample_rows(*device_logits, sampling_requests_, sampling_results_);
        // A request the device cannot take (unsupported): every row is sampled on the host.
        if (on_device.code() == ErrorCode::unsupported) {
            for (RowSamplingResult& r : sampling_results_) r.needs_host = true;
        } else if (!on_device) {
            return on_device;
        }
    }
    for (size_t i = 0; i < sampling_requests_.size(); ++i) {
        SeqState& st = *sampling_seqs_[i];
        RowSamplingResult& result = sampling_results_[i];
        if (st.done) continue;  // its request failed on an earlier row (grammar dead end)
        // A device choice stands under a grammar only when greedy and allowed (then it is
        // also the best allowed token); sampling at a temperature needs the masked row.
        const bool device_chose = device_logits && !result.needs_host;
        if (device_chose && (!st.grammar || (sampling_requests_[i].temperature <= 0.0f &&
                                             grammar_allows(st, result.token))))
            continue;
        Result<std::span<const float>> values = row_of(sampling_requests_[i].row);
        if (!values) return values.status();
        if (!st.grammar) {
            result = row_sampler_.sample(*values, sampling_requests_[i]);
        } else {
            sample_constrained(st, *values, sampling_requests_[i], result);  // false: st is done
        }
    }
    // Tokens are appended only now: the requests' penalty lists point into the states.
    for (size_t i = 0; i < sampling_seqs_.size(); ++i) {
        if (!sampling_seqs_[i]->done) accept_token(*sampling_seqs_[i], sampling_results_[i]);
    }
    return Status::ok();
}

void EngineCore::accept_token(SeqState& st, RowSamplingResult& chosen) {
    RequestState& req = *st.req;
    Sequence& seq = *st.seq;
    const SamplingParams& p = req.request.sampling;
    const TokenId t = chosen.token;
    seq.tokens.push_back(t);
    ++st.n_generated;
    ++generated_tokens_;
    if (penalties_enabled(p)) st.penalties.add_output(t);

    SampleDelta& d = delta_for(req, seq.sample_index);
    const bool stop_id = std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), t) != p.stop_token_ids.end();
    if ((!p.ignore_eos && is_eog(t)) || stop_id) {
        finish_seq(st, FinishReason::stop);
        return;
    }
    d.token_ids.push_back(t);
    if (p.logprobs) d.logprobs.push_back(std::move(chosen.logprobs));
    ++req.usage.completion_tokens;
    if (!req.first_token) req.first_token = Clock::now();
    bool stopped = false;
    d.text += st.text.push(t, stopped);
    if (stopped || (st.grammar && advance_grammar(st, t))) {
        finish_seq(st, FinishReason::stop);
        return;
    }
    const int32_t limit = p.max_tokens < 0 ? std::numeric_limits<int32_t>::max() : p.max_tokens;
    if (st.n_generated >= limit || seq.n_tokens() >= max_model_len_) finish_seq(st, FinishReason::length);
}

}  // namespace pagoda
