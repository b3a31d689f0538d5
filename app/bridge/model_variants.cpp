#include "bridge/model_variants.h"

#include <QFileInfo>
#include <QRegularExpression>

namespace pagoda::bridge {

QString variantBaseName(const QString& path) {
    QString name = QFileInfo(path).fileName();
    if (name.endsWith(QLatin1String(".gguf"), Qt::CaseInsensitive)) name.chop(5);
    // Split files ("-00001-of-00003") are one variant too.
    static const QRegularExpression split(QStringLiteral("-\\d{5}-of-\\d{5}$"));
    name.remove(split);
    static const QRegularExpression quant(
        QStringLiteral("[-._](I?Q[1-8](_[0-9A-Z]+)*|F16|F32|BF16|FP16|FP32|TQ[12]_0|MXFP4(_MOE)?)$"),
        QRegularExpression::CaseInsensitiveOption);
    const QRegularExpressionMatch m = quant.match(name);
    if (m.hasMatch() && m.capturedStart() > 0) name.truncate(m.capturedStart());
    return name;
}

QString variantGroupKey(const store::Model& model) {
    return variantBaseName(QString::fromStdString(model.path)).toLower() + QLatin1Char('|') +
           QString::fromStdString(model.architecture);
}

int quantizationRank(const QString& quantization) {
    const QString q = quantization.toUpper();
    if (q == QLatin1String("F32")) return 0;
    if (q == QLatin1String("F16") || q == QLatin1String("BF16")) return 1;
    // Q8_0 before Q6_K before Q5_K_M ...: more bits first; IQ variants after the Q ones of their width.
    static const QRegularExpression bits(QStringLiteral("^(I?)[QT]Q?(\\d)"));
    const QRegularExpressionMatch m = bits.match(q);
    if (m.hasMatch()) return 2 + (9 - m.captured(2).toInt()) * 2 + (m.captured(1).isEmpty() ? 0 : 1);
    return 100;
}

}  // namespace pagoda::bridge
