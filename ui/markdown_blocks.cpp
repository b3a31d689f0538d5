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

QStringList fencedCode(const QString& text) {
    QStringList out;
    QString fence;
    QStringList lines;
    for (const QString& line : text.split(QLatin1Char('\n'))) {
        const QString trimmed = line.trimmed();
        if (fence.isEmpty()) {
            if (trimmed.startsWith(QLatin1String("```")) || trimmed.startsWith(QLatin1String("~~~"))) {
                fence = trimmed.left(3);
                lines.clear();
            }
        } else if (trimmed.startsWith(fence)) {
            out << lines.join(QLatin1Char('\n'));
            fence.clear();
        } else {
            lines << line;
        }
    }
    if (!fence.isEmpty()) out << lines.join(QLatin1Char('\n'));  // unclosed: runs to the end
    return out;
}

}  // namespace pagoda::ui
