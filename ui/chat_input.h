// The message box: Enter or Ctrl+Enter sends, Shift+Enter starts a new line, Esc stops the
// reply being written. Grows with its text up to a few lines.
#pragma once

#include <QPlainTextEdit>

namespace pagoda::ui {

class ChatInput : public QPlainTextEdit {
    Q_OBJECT

public:
    explicit ChatInput(QWidget* parent = nullptr);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void sendRequested();
    void stopRequested();

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    void adjustHeight();
};

}  // namespace pagoda::ui
