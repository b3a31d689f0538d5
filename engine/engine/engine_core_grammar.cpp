// Constrained decoding in EngineCore: a sequence whose request carries a grammar samples
// only tokens whose text continues a sentence of it (grammar/grammar.h). The token text is
// Tokenizer::token_to_piece, exactly what the sample's output text is made of.
//
// Greedy rows first try the unconstrained choice: when the grammar allows it, it is also
// the best allowed token, and no mask over the vocabulary is built. Other rows mask every
// token the grammar refuses, then sample as usual (the mask of a grammar state is cached
// by the request's TokenFilter: JSON revisits the same states, e.g. inside strings).
#include "engine/engine_core.h"
#include "tokenizer/tokenizer.h"

namespace pagoda {

const std::shared_ptr<const grammar::TokenVocabulary>& EngineCore::grammar_vocabulary() {
    if (!grammar_vocabulary_) {
        // One piece per logit; ids the tokenizer does not know (padded vocabularies) and
        // control tokens are "", which a grammar never allows.
        std::vector<std::string> pieces(static_cast<size_t>(n_vocab_));
        if (const Tokenizer* tok = model_.tokenizer()) {
            for (TokenId t = 0; t < n_vocab_ && t < tok->vocab_size(); ++t) {
                pieces[static_cast<size_t>(t)] = tok->token_to_piece(t);
            }
        }
        grammar_vocabulary_ = std::make_shared<const grammar::TokenVocabulary>(std::move(pieces));
    }
    return grammar_vocabulary_;
}

bool EngineCore::grammar_allows(const SeqState& st, TokenId t) const {
    if (t < 0 || t >= n_vocab_) return false;
    if (is_eog(t) && !st.req->request.sampling.ignore_eos) return st.grammar->is_complete();
    const std::string& piece = grammar_vocabulary_->piece(t);
    return !piece.empty() && st.grammar->can_accept(piece);
}

bool EngineCore::sample_constrained(SeqState& st, std::span<const float> raw, const RowSamplingRequest& r,
                                    RowSamplingResult& out) {
    RequestState& req = *st.req;
    const SamplingParams& p = req.request.sampling;
    if (p.temperature <= 0.0f) {
        out = row_sampler_.sample(raw, r);
        if (grammar_allows(st, out.token)) return true;
    }
    grammar_mask_ = req.grammar_filter->allowed(*st.grammar);
    bool any = false;
    for (uint64_t word : grammar_mask_) any = any || word != 0;
    if (st.grammar->is_complete() && !p.ignore_eos) {
        // The sentence is whole: the end of generation is allowed too.
        const auto allow = [&](TokenId t) {
            if (t >= 0 && t < n_vocab_) grammar_mask_[static_cast<size_t>(t) >> 6] |= uint64_t{1} << (t & 63);
        };
        const SpecialTokens& special = model_.tokenizer()->special();
        allow(special.eos);
        for (TokenId t : special.eog) allow(t);
        any = true;
    }
    if (any) {
        out = row_sampler_.sample(raw, r, grammar_mask_);
        // Every allowed logit may still be -inf (a logit_bias of -inf): then nothing can be drawn.
        if (grammar_allows(st, out.token)) return true;
    }
    if (st.grammar->is_complete()) {
        finish_seq(st, FinishReason::stop);  // ignore_eos with a finished sentence: nothing may follow
    } else {
        fail_request(req, FinishReason::error,
                     "grammar: no token of the model's vocabulary can continue the output after " +
                         std::to_string(st.n_generated) + " tokens");
    }
    return false;
}

bool EngineCore::advance_grammar(SeqState& st, TokenId t) {
    const bool accepted = st.grammar->accept(grammar_vocabulary_->piece(t));
    // sample_constrained only returns tokens the grammar allows.
    if (!accepted) return true;
    return st.grammar->is_complete() && !st.grammar->can_continue();
}

}  // namespace pagoda
