#include "ui/markdown_blocks.h"

namespace pagoda::ui {

QStringList splitMarkdownBlocks(const QString& text) {
    QStringList blocks;
    QString current;
    QString fence;  // the open fence's marker ("```" or "~~~"), empty outside code
    const QStringList lines = text.split(QLatin1Char('\n'));
    for (const QString& line : lines) {
        const QString trimmed = line.trimmed();
        if (fence.isEmpty()) {
            if (trimmed.startsWith(QLatin1String("```")) || trimmed.startsWith(QLatin1String("~~~"))) {
                fence = trimmed.left(3);
            } else if (trimmed.isEmpty()) {
                if (!current.isEmpty()) {
                    blocks << current;
                    current.clear();
                }
                continue;
            }
        } else if (trimmed.startsWith(fence)) {
            fence.clear();
        }
        if (!current.isEmpty()) current += QLatin1Char('\n');
        current += line;
    }
    if (!current.isEmpty()) blocks << current;
    return blocks;
}

}  // namespace pagoda::ui
