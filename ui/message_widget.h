// One message of the conversation: who wrote it, its text rendered as Markdown, the branch
// switcher (< 2/3 >) when it has edited or regenerated siblings, copy and edit buttons, and a
// footer with the reply's speed or why it ended. Editing swaps the text for an editor.
#pragma once

#include <QFrame>
#include <QStringList>
#include <QVector>

#include "ui/chat_controller.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QToolButton;
class QStackedWidget;

namespace pagoda::ui {

class MessageWidget : public QFrame {
    Q_OBJECT

public:
    explicit MessageWidget(QWidget* parent = nullptr);

    // Shows `item`; `assistantName` labels replies (the model's name).
    void setItem(const MessageItem& item, const QString& assistantName);
    const MessageItem& item() const { return m_item; }
    qint64 messageId() const { return m_item.id; }
    // The text as shown (for tests and accessibility).
    QString displayedText() const;
    bool isEditing() const;
    // Opens the editor with the message's text (what the Edit button does).
    void startEditing();
    QPlainTextEdit* editor() const { return m_editor; }
    QPushButton* saveEditButton() const { return m_saveEdit; }
    QToolButton* previousBranchButton() const { return m_prevBranch; }
    QToolButton* nextBranchButton() const { return m_nextBranch; }
    QLabel* branchLabel() const { return m_branchLabel; }

signals:
    void editSubmitted(qint64 messageId, const QString& text);
    void branchRequested(qint64 messageId, int step);

protected:
    void changeEvent(QEvent* event) override;

private:
    void applyStyle();
    void updateFooter();

    MessageItem m_item;
    QLabel* m_roleLabel = nullptr;
    QToolButton* m_prevBranch = nullptr;
    QLabel* m_branchLabel = nullptr;
    QToolButton* m_nextBranch = nullptr;
    QToolButton* m_copyButton = nullptr;
    QToolButton* m_editButton = nullptr;
    QLabel* newBlockLabel();
    void renderBody();

    QStackedWidget* m_stack = nullptr;
    QWidget* m_body = nullptr;         // one QLabel per Markdown block (markdown_blocks.h)
    QVector<QLabel*> m_blockLabels;
    QStringList m_blocks;              // what each label shows
    QVector<int> m_blockModes;         // and how (see renderBody)
    QPlainTextEdit* m_editor = nullptr;
    QPushButton* m_saveEdit = nullptr;
    QLabel* m_footer = nullptr;
};

}  // namespace pagoda::ui
