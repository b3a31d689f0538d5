#include "sample/text_stream.h"

#include <algorithm>

#include "tokenizer/tokenizer.h"

namespace pagoda {

TextStream::TextStream(const Tokenizer* tokenizer, std::vector<std::string> stops)
    : tokenizer_(tokenizer), stops_(std::move(stops)) {
    stops_.erase(std::remove_if(stops_.begin(), stops_.end(), [](const std::string& s) { return s.empty(); }),
                 stops_.end());
}

size_t TextStream::incomplete_utf8_tail(std::string_view s) {
    const size_t n = s.size();
    // The last lead byte among the final 4 bytes decides.
    for (size_t back = 1; back <= std::min<size_t>(4, n); ++back) {
        const auto c = static_cast<unsigned char>(s[n - back]);
        if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
        size_t need = 1;
        if ((c & 0xE0) == 0xC0) {
            need = 2;
        } else if ((c & 0xF0) == 0xE0) {
            need = 3;
        } else if ((c & 0xF8) == 0xF0) {
            need = 4;
        }
        return need > back ? back : 0;
    }
    return 0;  // only continuation bytes: invalid, nothing to wait for
}

std::string TextStream::push(TokenId token, bool& stopped) {
    if (!tokenizer_) {
        stopped = false;
        return {};
    }
    return push_text(tokenizer_->token_to_piece(token), stopped);
}

std::string TextStream::push_text(std::string_view piece, bool& stopped) {
    stopped = false;
    if (stopped_) {
        stopped = true;
        return {};
    }
    pending_.append(piece);
    // A stop string anywhere in the held-back text (nothing before it was emitted: any
    // text that could start a stop string is held back).
    size_t first = std::string::npos;
    for (const std::string& stop : stops_) first = std::min(first, pending_.find(stop));
    if (first != std::string::npos) {
        std::string out = pending_.substr(0, first);
        pending_.clear();
        stopped_ = stopped = true;
        return out;
    }
    // Hold back the longest tail that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const std::string& stop : stops_) {
        const size_t max_len = std::min(stop.size() - 1, pending_.size());
        for (size_t len = max_len; len > hold; --len) {
            if (pending_.compare(pending_.size() - len, len, stop, 0, len) == 0) {
                hold = len;
                break;
            }
        }
    }
    size_t emit = pending_.size() - hold;
    emit -= incomplete_utf8_tail(std::string_view(pending_).substr(0, emit));
    std::string out = pending_.substr(0, emit);
    pending_.erase(0, emit);
    return out;
}

std::string TextStream::flush() {
    if (stopped_) return {};
    std::string out;
    out.swap(pending_);
    const size_t tail = incomplete_utf8_tail(out);
    if (tail > 0) out.replace(out.size() - tail, tail, std::string_view("\xEF\xBF\xBD"));  // U+FFFD
    return out;
}

}  // namespace pagoda
