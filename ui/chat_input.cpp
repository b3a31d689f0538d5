#include "ui/chat_input.h"

#include <QKeyEvent>
#include <QTextDocument>
#include <algorithm>
#include <cmath>

namespace pagoda::ui {

namespace {
constexpr int kMinLines = 2;
constexpr int kMaxLines = 8;
}  // namespace

ChatInput::ChatInput(QWidget* parent) : QPlainTextEdit(parent) {
    setObjectName(QStringLiteral("chatInput"));
    setPlaceholderText(tr("Write a message. Enter sends, Shift+Enter starts a new line, Esc stops the reply."));
    setTabChangesFocus(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    connect(this, &QPlainTextEdit::textChanged, this, &ChatInput::adjustHeight);
    adjustHeight();
}

QSize ChatInput::sizeHint() const {
    const int lines = std::clamp(static_cast<int>(document()->blockCount()), kMinLines, kMaxLines);
    const int h = static_cast<int>(std::ceil(lines * fontMetrics().lineSpacing())) + 2 * frameWidth() +
                  static_cast<int>(2 * document()->documentMargin()) + 4;
    return {QPlainTextEdit::sizeHint().width(), h};
}

QSize ChatInput::minimumSizeHint() const { return {100, sizeHint().height()}; }

void ChatInput::adjustHeight() {
    setFixedHeight(sizeHint().height());
}

void ChatInput::keyPressEvent(QKeyEvent* event) {
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & Qt::ShiftModifier)) {
        // Plain Enter and Ctrl+Enter both send; Shift+Enter falls through to a new line.
        emit sendRequested();
        event->accept();
        return;
    }
    if (event->key() == Qt::Key_Escape) {
        emit stopRequested();
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

}  // namespace pagoda::ui
