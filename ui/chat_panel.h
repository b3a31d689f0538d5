// The chat page's right side: a header (title, model hint, system prompt, sampling preset,
// export), the conversation, and the input row (message box, Send, Stop, Regenerate).
#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QToolButton;

namespace pagoda::bridge {
class EngineBridge;
}

namespace pagoda::ui {

class ChatController;
class ChatInput;
class ConversationView;

class ChatPanel : public QWidget {
    Q_OBJECT

public:
    ChatPanel(ChatController& controller, bridge::EngineBridge& bridge, QWidget* parent = nullptr);

    ChatInput* input() const { return m_input; }
    ConversationView* conversation() const { return m_conversation; }
    QPushButton* sendButton() const { return m_send; }
    QPushButton* stopButton() const { return m_stop; }
    QPushButton* regenerateButton() const { return m_regenerate; }
    QComboBox* presetBox() const { return m_preset; }
    QPlainTextEdit* systemPromptEdit() const { return m_systemPrompt; }
    QToolButton* systemPromptToggle() const { return m_systemToggle; }
    QToolButton* jsonOutputToggle() const { return m_jsonToggle; }
    QPlainTextEdit* jsonSchemaEdit() const { return m_jsonSchema; }
    QLabel* jsonSchemaError() const { return m_jsonError; }
    QWidget* editBar() const { return m_editBar; }
    QPlainTextEdit* editEditor() const { return m_editEditor; }
    QPushButton* editSaveButton() const { return m_editSave; }
    qint64 editingMessageId() const { return m_editingId; }

public slots:
    void send();
    // Opens the edit bar above the message box with the message's text.
    void startEditing(qint64 messageId);
    void cancelEditing();

private:
    void updateHeader();
    void updateButtons();
    void promptExport(bool json);
    void saveStructuredOutput();

    ChatController& m_controller;
    bridge::EngineBridge& m_bridge;
    QLabel* m_title = nullptr;
    QLabel* m_modelHint = nullptr;
    QToolButton* m_systemToggle = nullptr;
    QPlainTextEdit* m_systemPrompt = nullptr;
    QToolButton* m_jsonToggle = nullptr;
    QPlainTextEdit* m_jsonSchema = nullptr;  // empty: any JSON object
    QLabel* m_jsonError = nullptr;
    qint64 m_headerSession = -1;  // the chat updateHeader last showed
    QComboBox* m_preset = nullptr;
    QToolButton* m_export = nullptr;
    ConversationView* m_conversation = nullptr;
    ChatInput* m_input = nullptr;
    QPushButton* m_send = nullptr;
    QPushButton* m_stop = nullptr;
    QPushButton* m_regenerate = nullptr;
    QWidget* m_inputArea = nullptr;
    QWidget* m_editBar = nullptr;
    QLabel* m_editLabel = nullptr;
    QPlainTextEdit* m_editEditor = nullptr;
    QPushButton* m_editSave = nullptr;
    qint64 m_editingId = 0;
    bool m_updatingHeader = false;
};

}  // namespace pagoda::ui
