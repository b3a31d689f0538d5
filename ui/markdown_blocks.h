// Splits Markdown into blocks at blank lines outside fenced code, so a message can be shown
// as one label per block: while a reply streams only its last block changes and is
// re-rendered, keeping each update's cost bounded by the block, not the whole reply.
#pragma once

#include <QStringList>

namespace pagoda::ui {

// Blocks in order, without the blank lines between them. Fenced code (``` or ~~~) stays in
// one block even when it contains blank lines; an unclosed fence runs to the end.
QStringList splitMarkdownBlocks(const QString& text);

// The contents of each fenced code section in `text` (fences and info strings removed).
QStringList fencedCode(const QString& text);

}  // namespace pagoda::ui
