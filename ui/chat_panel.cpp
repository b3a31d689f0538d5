#include "ui/chat_panel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "bridge/engine_bridge.h"
#include "bridge/sampling_preset.h"
#include "bridge/structured_output.h"
#include "ui/chat_controller.h"
#include "ui/chat_input.h"
#include "ui/conversation_view.h"

namespace pagoda::ui {

ChatPanel::ChatPanel(ChatController& controller, bridge::EngineBridge& bridge, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_bridge(bridge) {
    setObjectName(QStringLiteral("chatPanel"));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    // ---- header ----
    auto* header = new QWidget(this);
    header->setObjectName(QStringLiteral("chatHeader"));
    auto* headerLayout = new QVBoxLayout(header);
    headerLayout->setContentsMargins(16, 10, 16, 6);
    auto* titleRow = new QHBoxLayout;
    m_title = new QLabel(header);
    m_title->setObjectName(QStringLiteral("chatTitle"));
    QFont titleFont = m_title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.25);
    titleFont.setBold(true);
    m_title->setFont(titleFont);
    m_title->setTextFormat(Qt::PlainText);
    titleRow->addWidget(m_title, 1);
    m_systemToggle = new QToolButton(header);
    m_systemToggle->setText(tr("System prompt"));
    m_systemToggle->setCheckable(true);
    m_systemToggle->setToolTip(tr("Instructions the model sees before the conversation (this chat only)"));
    titleRow->addWidget(m_systemToggle);
    m_jsonToggle = new QToolButton(header);
    m_jsonToggle->setText(tr("JSON output"));
    m_jsonToggle->setCheckable(true);
    m_jsonToggle->setToolTip(tr("Replies are valid JSON: any object, or one that follows a JSON Schema (this chat only)"));
    titleRow->addWidget(m_jsonToggle);
    auto* presetLabel = new QLabel(tr("Sampling:"), header);
    titleRow->addWidget(presetLabel);
    m_preset = new QComboBox(header);
    m_preset->setObjectName(QStringLiteral("samplingPreset"));
    for (const bridge::SamplingPreset& p : bridge::samplingPresets()) {
        m_preset->addItem(p.label, p.id);
        m_preset->setItemData(m_preset->count() - 1, p.description, Qt::ToolTipRole);
    }
    titleRow->addWidget(m_preset);
    m_export = new QToolButton(header);
    m_export->setText(tr("Export"));
    m_export->setPopupMode(QToolButton::InstantPopup);
    auto* exportMenu = new QMenu(m_export);
    exportMenu->addAction(tr("As Markdown\u2026"), this, [this] { promptExport(false); });
    exportMenu->addAction(tr("As JSON (all branches)\u2026"), this, [this] { promptExport(true); });
    m_export->setMenu(exportMenu);
    titleRow->addWidget(m_export);
    headerLayout->addLayout(titleRow);
    m_modelHint = new QLabel(header);
    m_modelHint->setObjectName(QStringLiteral("modelHint"));
    m_modelHint->setWordWrap(true);
    headerLayout->addWidget(m_modelHint);
    m_systemPrompt = new QPlainTextEdit(header);
    m_systemPrompt->setObjectName(QStringLiteral("systemPrompt"));
    m_systemPrompt->setPlaceholderText(tr("For example: You are a concise assistant. Answer in English."));
    m_systemPrompt->setMaximumHeight(90);
    m_systemPrompt->setVisible(false);
    headerLayout->addWidget(m_systemPrompt);
    m_jsonSchema = new QPlainTextEdit(header);
    m_jsonSchema->setObjectName(QStringLiteral("jsonSchema"));
    m_jsonSchema->setPlaceholderText(
        tr("Optional JSON Schema, e.g. {\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\"}}, "
           "\"required\": [\"name\"]}. Empty: any JSON object."));
    m_jsonSchema->setMaximumHeight(120);
    m_jsonSchema->setVisible(false);
    headerLayout->addWidget(m_jsonSchema);
    m_jsonError = new QLabel(header);
    m_jsonError->setObjectName(QStringLiteral("jsonSchemaError"));
    m_jsonError->setWordWrap(true);
    m_jsonError->setStyleSheet(QStringLiteral("color: #c0392b;"));
    m_jsonError->setVisible(false);
    headerLayout->addWidget(m_jsonError);
    layout->addWidget(header);

    auto* line = new QFrame(this);
    line->setFrameShape(QFrame::HLine);
    line->setFrameShadow(QFrame::Sunken);
    layout->addWidget(line);

    // ---- conversation ----
    m_conversation = new ConversationView(controller, this);
    layout->addWidget(m_conversation, 1);

    // ---- editing a message (replaces the input row while open) ----
    m_editBar = new QFrame(this);
    m_editBar->setObjectName(QStringLiteral("editBar"));
    auto* editLayout = new QVBoxLayout(m_editBar);
    editLayout->setContentsMargins(16, 8, 16, 8);
    m_editLabel = new QLabel(m_editBar);
    m_editLabel->setWordWrap(true);
    editLayout->addWidget(m_editLabel);
    m_editEditor = new QPlainTextEdit(m_editBar);
    m_editEditor->setObjectName(QStringLiteral("editEditor"));
    m_editEditor->setMaximumHeight(140);
    editLayout->addWidget(m_editEditor);
    auto* editButtons = new QHBoxLayout;
    editButtons->addStretch(1);
    auto* editCancel = new QPushButton(tr("Cancel"), m_editBar);
    m_editSave = new QPushButton(m_editBar);
    m_editSave->setDefault(true);
    editButtons->addWidget(editCancel);
    editButtons->addWidget(m_editSave);
    editLayout->addLayout(editButtons);
    m_editBar->setVisible(false);
    layout->addWidget(m_editBar);
    connect(editCancel, &QPushButton::clicked, this, &ChatPanel::cancelEditing);
    connect(m_editSave, &QPushButton::clicked, this, [this] {
        const QString text = m_editEditor->toPlainText();
        if (text.trimmed().isEmpty()) return;
        if (m_controller.editMessage(m_editingId, text)) cancelEditing();
    });
    connect(m_conversation, &ConversationView::editRequested, this, &ChatPanel::startEditing);

    // ---- input ----
    auto* inputArea = new QWidget(this);
    m_inputArea = inputArea;
    auto* inputLayout = new QHBoxLayout(inputArea);
    inputLayout->setContentsMargins(16, 8, 16, 12);
    m_input = new ChatInput(inputArea);
    inputLayout->addWidget(m_input, 1);
    auto* buttons = new QVBoxLayout;
    m_send = new QPushButton(tr("Send"), inputArea);
    m_send->setObjectName(QStringLiteral("sendButton"));
    m_send->setToolTip(tr("Send (Enter)"));
    m_stop = new QPushButton(tr("Stop"), inputArea);
    m_stop->setObjectName(QStringLiteral("stopButton"));
    m_stop->setToolTip(tr("Stop the reply (Esc)"));
    m_regenerate = new QPushButton(tr("Regenerate"), inputArea);
    m_regenerate->setObjectName(QStringLiteral("regenerateButton"));
    m_regenerate->setToolTip(tr("Write the last reply again; the previous one stays as a version (Ctrl+R)"));
    buttons->addWidget(m_send);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_regenerate);
    buttons->addStretch(1);
    inputLayout->addLayout(buttons);
    layout->addWidget(inputArea);

    connect(m_input, &ChatInput::sendRequested, this, &ChatPanel::send);
    connect(m_input, &ChatInput::stopRequested, &m_controller, &ChatController::stop);
    connect(m_send, &QPushButton::clicked, this, &ChatPanel::send);
    connect(m_stop, &QPushButton::clicked, &m_controller, &ChatController::stop);
    connect(m_regenerate, &QPushButton::clicked, &m_controller, &ChatController::regenerate);
    connect(m_systemToggle, &QToolButton::toggled, m_systemPrompt, &QWidget::setVisible);
    // Saved when the user pauses typing, not on every key.
    auto* promptSave = new QTimer(this);
    promptSave->setSingleShot(true);
    promptSave->setInterval(600);
    connect(m_systemPrompt, &QPlainTextEdit::textChanged, promptSave, [this, promptSave] {
        if (!m_updatingHeader) promptSave->start();
    });
    connect(promptSave, &QTimer::timeout, this,
            [this] { m_controller.setSystemPrompt(m_systemPrompt->toPlainText()); });
    connect(m_jsonToggle, &QToolButton::toggled, this, [this](bool on) {
        m_jsonSchema->setVisible(on);
        if (!m_updatingHeader) saveStructuredOutput();
    });
    auto* schemaSave = new QTimer(this);
    schemaSave->setSingleShot(true);
    schemaSave->setInterval(600);
    connect(m_jsonSchema, &QPlainTextEdit::textChanged, schemaSave, [this, schemaSave] {
        if (!m_updatingHeader) schemaSave->start();
    });
    connect(schemaSave, &QTimer::timeout, this, &ChatPanel::saveStructuredOutput);
    connect(m_preset, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (!m_updatingHeader && index >= 0) m_controller.setSamplingPreset(m_preset->itemData(index).toString());
    });

    connect(&m_controller, &ChatController::sessionChanged, this, &ChatPanel::updateHeader);
    // The edit bar closes when the message it edits is no longer on screen (other chat, other branch).
    connect(&m_controller, &ChatController::messagesReset, this, [this] {
        if (m_editingId == 0) return;
        for (const MessageItem& m : m_controller.messages()) {
            if (m.id == m_editingId) return;
        }
        cancelEditing();
    });
    connect(&m_controller, &ChatController::sessionClosed, this, &ChatPanel::updateHeader);
    connect(&m_controller, &ChatController::messagesReset, this, &ChatPanel::updateButtons);
    connect(&m_controller, &ChatController::generatingChanged, this, &ChatPanel::updateButtons);
    connect(&m_bridge, &bridge::EngineBridge::modelLoaded, this, &ChatPanel::updateHeader);
    connect(&m_bridge, &bridge::EngineBridge::modelUnloaded, this, &ChatPanel::updateHeader);
    connect(&m_bridge, &bridge::EngineBridge::loadStarted, this, &ChatPanel::updateHeader);
    connect(&m_bridge, &bridge::EngineBridge::loadFailed, this, &ChatPanel::updateHeader);
    connect(&m_bridge, &bridge::EngineBridge::modelLoaded, this, &ChatPanel::updateButtons);
    connect(&m_bridge, &bridge::EngineBridge::modelUnloaded, this, &ChatPanel::updateButtons);
    updateHeader();
    updateButtons();
}

void ChatPanel::send() {
    const QString text = m_input->toPlainText();
    if (text.trimmed().isEmpty()) return;
    // The text leaves the box only once the controller took it; otherwise it stays for a retry.
    if (m_controller.send(text)) m_input->clear();
}

void ChatPanel::startEditing(qint64 messageId) {
    for (const MessageItem& m : m_controller.messages()) {
        if (m.id != messageId) continue;
        m_editingId = messageId;
        const bool user = m.role == store::Role::user;
        m_editLabel->setText(user ? tr("<b>Edit your message.</b> Sending it starts a new reply; the original "
                                       "conversation stays as an older version (\u2039 \u203a).")
                                  : tr("<b>Edit the reply.</b> The original stays as an older version."));
        m_editSave->setText(user ? tr("Save and resend") : tr("Save"));
        m_editEditor->setPlainText(m.content);
        m_editBar->setVisible(true);
        m_inputArea->setVisible(false);
        m_editEditor->setFocus();
        return;
    }
}

void ChatPanel::cancelEditing() {
    m_editingId = 0;
    m_editBar->setVisible(false);
    m_inputArea->setVisible(true);
}

void ChatPanel::promptExport(bool json) {
    if (m_controller.sessionId() == 0) return;
    QString name = QString::fromStdString(m_controller.session().title).simplified();
    name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9 _-]")), QString());
    if (name.isEmpty()) name = QStringLiteral("chat");
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    const QString suggested = dir + QLatin1Char('/') + name + (json ? QStringLiteral(".json") : QStringLiteral(".md"));
    const QString path =
        QFileDialog::getSaveFileName(this, json ? tr("Export chat as JSON") : tr("Export chat as Markdown"), suggested,
                                     json ? tr("JSON (*.json)") : tr("Markdown (*.md)"));
    if (!path.isEmpty()) m_controller.exportSession(path, json);
}

void ChatPanel::updateHeader() {
    m_updatingHeader = true;
    const bool open = m_controller.sessionId() != 0;
    const store::Session& s = m_controller.session();
    m_title->setText(open ? QString::fromStdString(s.title) : tr("New chat"));
    if (!m_systemPrompt->hasFocus() && m_systemPrompt->toPlainText() != QString::fromStdString(s.system_prompt)) {
        m_systemPrompt->setPlainText(QString::fromStdString(s.system_prompt));
    }
    m_systemToggle->setEnabled(open);
    if (!s.system_prompt.empty() && open) m_systemToggle->setChecked(true);
    m_jsonToggle->setEnabled(open);
    const bridge::StructuredOutput output = bridge::structuredOutput(s.sampling_preset_json);
    // A schema being typed (or not saved because it is invalid) stays as the user has it,
    // until another chat opens.
    if (m_headerSession != m_controller.sessionId()) {
        m_headerSession = m_controller.sessionId();
        m_jsonError->hide();
    }
    if (!m_jsonSchema->hasFocus() && m_jsonError->isHidden()) {
        m_jsonToggle->setChecked(open && output.enabled);
        if (m_jsonSchema->toPlainText() != output.schema) m_jsonSchema->setPlainText(output.schema);
    }
    m_preset->setEnabled(open);
    m_export->setEnabled(open);
    const int presetIndex = m_preset->findData(bridge::samplingPresetId(s.sampling_preset_json));
    if (presetIndex >= 0) m_preset->setCurrentIndex(presetIndex);

    const bridge::LoadedModelInfo& model = m_bridge.loadedModel();
    QString hint;
    if (m_bridge.isLoading()) {
        hint = tr("Loading a model\u2026");
    } else if (!m_bridge.isLoaded()) {
        hint = tr("No model loaded. Add a GGUF file on the Models page and load it.");
    } else if (!model.hasChatTemplate) {
        hint = tr("%1 has no chat template: replies continue your text as a story (base model).").arg(model.name);
        if (!model.templateError.isEmpty()) hint += QLatin1Char(' ') + tr("(Template error: %1)").arg(model.templateError);
    } else {
        hint = tr("Chatting with %1 on %2 \u00b7 context %3 tokens").arg(model.name, model.device).arg(model.contextLength);
    }
    m_modelHint->setText(hint);
    m_conversation->setAssistantName(m_bridge.isLoaded() ? model.name : QString());
    m_updatingHeader = false;
}

void ChatPanel::saveStructuredOutput() {
    const QString error = m_controller.setStructuredOutput(m_jsonToggle->isChecked(), m_jsonSchema->toPlainText());
    m_jsonError->setText(error.isEmpty() ? QString() : tr("Not saved: %1").arg(error));
    m_jsonError->setVisible(!error.isEmpty());
}

void ChatPanel::updateButtons() {
    const bool generating = m_controller.isGenerating();
    const bool loaded = m_bridge.isLoaded();
    m_send->setEnabled(!generating && loaded);
    m_stop->setEnabled(generating);
    m_regenerate->setEnabled(!generating && loaded && !m_controller.messages().isEmpty());
}

}  // namespace pagoda::ui
