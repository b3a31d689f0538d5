#include "ui/message_widget.h"

#include "ui/markdown_blocks.h"

#include <QApplication>
#include <QClipboard>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStackedWidget>
#include <QToolButton>
#include <QVBoxLayout>

namespace pagoda::ui {

namespace {

// A streaming reply re-renders only its last Markdown block; a single block longer than this
// (a huge code block) is shown as plain text until the reply ends, so no update takes long.
constexpr int kMarkdownWhileStreamingLimit = 1500;

QColor blend(const QColor& a, const QColor& b, double t) {
    return QColor::fromRgbF(a.redF() * (1 - t) + b.redF() * t, a.greenF() * (1 - t) + b.greenF() * t,
                            a.blueF() * (1 - t) + b.blueF() * t);
}

}  // namespace

MessageWidget::MessageWidget(QWidget* parent) : QFrame(parent) {
    setFrameShape(QFrame::NoFrame);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 8, 12, 8);
    layout->setSpacing(4);

    auto* header = new QHBoxLayout;
    header->setSpacing(4);
    m_roleLabel = new QLabel(this);
    QFont bold = m_roleLabel->font();
    bold.setBold(true);
    m_roleLabel->setFont(bold);
    header->addWidget(m_roleLabel);
    header->addSpacing(8);
    m_prevBranch = new QToolButton(this);
    m_prevBranch->setText(QStringLiteral("\u2039"));
    m_prevBranch->setToolTip(tr("Previous version"));
    m_prevBranch->setAutoRaise(true);
    m_branchLabel = new QLabel(this);
    m_nextBranch = new QToolButton(this);
    m_nextBranch->setText(QStringLiteral("\u203a"));
    m_nextBranch->setToolTip(tr("Next version"));
    m_nextBranch->setAutoRaise(true);
    header->addWidget(m_prevBranch);
    header->addWidget(m_branchLabel);
    header->addWidget(m_nextBranch);
    header->addStretch(1);
    m_copyButton = new QToolButton(this);
    m_copyButton->setText(tr("Copy"));
    m_copyButton->setToolTip(tr("Copy the message as Markdown"));
    m_copyButton->setAutoRaise(true);
    m_editButton = new QToolButton(this);
    m_editButton->setText(tr("Edit"));
    m_editButton->setAutoRaise(true);
    header->addWidget(m_copyButton);
    header->addWidget(m_editButton);
    layout->addLayout(header);

    m_stack = new QStackedWidget(this);
    m_body = new QWidget(m_stack);
    m_body->setObjectName(QStringLiteral("messageBody"));
    auto* bodyLayout = new QVBoxLayout(m_body);
    bodyLayout->setContentsMargins(0, 0, 0, 0);
    bodyLayout->setSpacing(6);
    m_stack->addWidget(m_body);

    auto* editPage = new QWidget(m_stack);
    auto* editLayout = new QVBoxLayout(editPage);
    editLayout->setContentsMargins(0, 0, 0, 0);
    m_editor = new QPlainTextEdit(editPage);
    m_editor->setObjectName(QStringLiteral("messageEditor"));
    m_editor->setMinimumHeight(80);
    editLayout->addWidget(m_editor);
    auto* editButtons = new QHBoxLayout;
    editButtons->addStretch(1);
    auto* cancel = new QPushButton(tr("Cancel"), editPage);
    m_saveEdit = new QPushButton(editPage);
    m_saveEdit->setDefault(true);
    editButtons->addWidget(cancel);
    editButtons->addWidget(m_saveEdit);
    editLayout->addLayout(editButtons);
    m_stack->addWidget(editPage);
    layout->addWidget(m_stack);

    m_footer = new QLabel(this);
    m_footer->setObjectName(QStringLiteral("messageFooter"));
    QFont small = m_footer->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    m_footer->setFont(small);
    layout->addWidget(m_footer);

    connect(m_copyButton, &QToolButton::clicked, this,
            [this] { QApplication::clipboard()->setText(m_item.content); });
    connect(m_editButton, &QToolButton::clicked, this, &MessageWidget::startEditing);
    connect(cancel, &QPushButton::clicked, this, [this] { m_stack->setCurrentIndex(0); });
    connect(m_saveEdit, &QPushButton::clicked, this, [this] {
        const QString text = m_editor->toPlainText();
        if (text.trimmed().isEmpty()) return;
        m_stack->setCurrentIndex(0);
        emit editSubmitted(m_item.id, text);
    });
    connect(m_prevBranch, &QToolButton::clicked, this, [this] { emit branchRequested(m_item.id, -1); });
    connect(m_nextBranch, &QToolButton::clicked, this, [this] { emit branchRequested(m_item.id, +1); });
}

void MessageWidget::setItem(const MessageItem& item, const QString& assistantName) {
    const bool roleChanged = item.role != m_item.role || m_item.id == 0;
    m_item = item;
    switch (item.role) {
        case store::Role::user:
            m_roleLabel->setText(tr("You"));
            break;
        case store::Role::assistant:
            m_roleLabel->setText(assistantName.isEmpty() ? tr("Assistant") : assistantName);
            break;
        case store::Role::system:
            m_roleLabel->setText(tr("System"));
            break;
        case store::Role::tool:
            m_roleLabel->setText(tr("Tool"));
            break;
    }
    const bool branches = item.siblingCount > 1;
    m_prevBranch->setVisible(branches);
    m_nextBranch->setVisible(branches);
    m_branchLabel->setVisible(branches);
    m_branchLabel->setText(QStringLiteral("%1/%2").arg(item.siblingIndex + 1).arg(item.siblingCount));
    m_prevBranch->setEnabled(item.siblingIndex > 0);
    m_nextBranch->setEnabled(item.siblingIndex + 1 < item.siblingCount);
    m_editButton->setVisible(!item.streaming && item.role != store::Role::system);
    m_editButton->setToolTip(item.role == store::Role::user ? tr("Edit and send again (the old version stays)")
                                                            : tr("Edit the reply (the old version stays)"));
    m_saveEdit->setText(item.role == store::Role::user ? tr("Save and resend") : tr("Save"));
    m_copyButton->setEnabled(!item.content.isEmpty());

    renderBody();
    updateFooter();
    if (roleChanged) applyStyle();
}

QLabel* MessageWidget::newBlockLabel() {
    auto* label = new QLabel(m_body);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextBrowserInteraction);
    label->setOpenExternalLinks(true);
    label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    label->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
    m_body->layout()->addWidget(label);
    return label;
}

void MessageWidget::renderBody() {
    QStringList blocks = splitMarkdownBlocks(m_item.content);
    if (blocks.isEmpty()) blocks << QString();
    // Only a streaming reply's last block can be too long to re-render often.
    const bool lastAsMarkdown = !(m_item.streaming && blocks.last().size() > kMarkdownWhileStreamingLimit);
    while (m_blockLabels.size() > blocks.size()) delete m_blockLabels.takeLast();
    while (m_blockLabels.size() < blocks.size()) m_blockLabels.push_back(newBlockLabel());
    m_blocks.resize(m_blockLabels.size());
    m_blockModes.resize(m_blockLabels.size());
    for (int i = 0; i < blocks.size(); ++i) {
        // 0: Markdown, 1: plain text, 2: the "writing" placeholder, 3: empty.
        int mode = i + 1 < blocks.size() || lastAsMarkdown ? 0 : 1;
        if (blocks[i].isEmpty()) mode = m_item.streaming ? 2 : 3;
        // Unchanged blocks keep their rendering: a stream touches only the last one.
        if (m_blocks[i] == blocks[i] && m_blockModes[i] == mode) continue;
        QLabel* label = m_blockLabels[i];
        label->setTextFormat(mode == 0 ? Qt::MarkdownText : Qt::PlainText);
        label->setText(mode == 2 ? QStringLiteral("\u2026") : blocks[i]);
        m_blocks[i] = blocks[i];
        m_blockModes[i] = mode;
    }
}

QString MessageWidget::displayedText() const { return m_item.content; }

bool MessageWidget::isEditing() const { return m_stack->currentIndex() == 1; }

void MessageWidget::startEditing() {
    m_editor->setPlainText(m_item.content);
    m_stack->setCurrentIndex(1);
    m_editor->setFocus();
}

void MessageWidget::updateFooter() {
    QStringList parts;
    if (m_item.streaming) parts << tr("writing\u2026");
    if (m_item.role == store::Role::assistant && !m_item.streaming && m_item.stats.completion_tokens > 0) {
        parts << tr("%n tokens", nullptr, static_cast<int>(m_item.stats.completion_tokens));
        if (m_item.stats.tokens_per_s > 0) parts << tr("%1 tok/s").arg(m_item.stats.tokens_per_s, 0, 'f', 1);
    }
    if (!m_item.note.isEmpty()) parts << m_item.note;
    if (m_item.role == store::Role::assistant && !m_item.streaming && m_item.content.isEmpty() && m_item.note.isEmpty())
        parts << tr("no reply");
    m_footer->setText(parts.join(QStringLiteral(" \u00b7 ")));
    m_footer->setVisible(!parts.isEmpty());
}

void MessageWidget::changeEvent(QEvent* event) {
    if (event->type() == QEvent::PaletteChange) applyStyle();
    QFrame::changeEvent(event);
}

void MessageWidget::applyStyle() {
    // Colours come from the application palette, so light and dark themes both read well.
    // (Not from this widget's own palette: the style sheet below changes that one, and a
    // PaletteChange would then restyle forever.)
    const QPalette pal = QApplication::palette();
    const QColor base = pal.color(QPalette::Base);
    const QColor tint = m_item.role == store::Role::user ? blend(base, pal.color(QPalette::Highlight), 0.14)
                                                         : blend(base, pal.color(QPalette::Text), 0.035);
    const QColor muted = blend(pal.color(QPalette::Text), base, 0.45);
    setObjectName(m_item.role == store::Role::user ? QStringLiteral("userMessage") : QStringLiteral("assistantMessage"));
    const QString sheet = (QStringLiteral("QFrame#%3 { background: %1; border-radius: 10px; }"
                                 "QLabel#messageFooter { color: %2; }")
                      .arg(tint.name(), muted.name(), objectName()));
    if (sheet == styleSheet()) return;
    setAttribute(Qt::WA_StyledBackground, true);
    setStyleSheet(sheet);
}

}  // namespace pagoda::ui
