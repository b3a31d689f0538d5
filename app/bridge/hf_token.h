// The Hugging Face access token the user already has, for gated and private repos:
// HF_TOKEN (or the older HUGGING_FACE_HUB_TOKEN), else the file `huggingface-cli login`
// writes ($HF_HOME/token; HF_HOME defaults to ~/.cache/huggingface). Pagoda stores no
// token of its own.
#pragma once

#include <QByteArray>
#include <QUrl>

namespace pagoda::bridge {

// The token, or empty when there is none or it is not a plausible token (printable
// ASCII without spaces, at most 512 bytes): it goes into an HTTP header.
QByteArray huggingFaceToken();

// Whether `url` may receive the token: https to huggingface.co or hf.co only, never the
// CDN a /resolve/ URL redirects to (that URL is signed and needs no token).
bool isHuggingFaceHost(const QUrl& url);

}  // namespace pagoda::bridge
