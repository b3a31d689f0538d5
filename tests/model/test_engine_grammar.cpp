// Constrained decoding through the engine (SamplingParams::grammar): every sample's text
// follows the grammar, ends only where the grammar is complete, and a request the
// vocabulary cannot satisfy fails alone. Random-weight models: their SentencePiece
// vocabulary has byte-fallback tokens, so every text can be spelled.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "grammar/grammar.h"
#include "grammar/json_schema_grammar.h"
#include "test_engine_common.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::engine_test {
namespace {

std::shared_ptr<const grammar::Grammar> compile(const std::string& gbnf) {
    auto g = grammar::compile_gbnf(gbnf);
    EXPECT_TRUE(g.is_ok()) << g.status().to_string();
    return g ? *g : nullptr;
}

Job constrained_job(std::shared_ptr<const grammar::Grammar> g, float temperature, uint64_t seed, int32_t n = 1) {
    Job job;
    job.request.prompt = {1, 300, 301, 302};
    job.request.sampling.grammar = std::move(g);
    job.request.sampling.temperature = temperature;
    job.request.sampling.top_k = 0;
    job.request.sampling.seed = seed;
    job.request.sampling.n = n;
    job.request.sampling.max_tokens = 400;
    return job;
}

std::string pieces_of(const Tokenizer& tok, const std::vector<TokenId>& ids) {
    std::string s;
    for (TokenId t : ids) s += tok.token_to_piece(t);
    return s;
}

// maxLength counts characters, not bytes.
size_t code_points(const std::string& utf8) {
    size_t n = 0;
    for (const char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    return n;
}

TEST(EngineGrammar, GreedyAndSampledTextFollowsTheGrammarAndEndsWhereItIsComplete) {
    LoadedModel m = load_random();
    ASSERT_TRUE(m);
    const Tokenizer* tok = m.model->tokenizer();
    ASSERT_NE(tok, nullptr);
    const auto g = compile(R"(root ::= "The " ("cat" | "dog") " is " [a-z]{1,8} ("." | "!"))");
    ASSERT_TRUE(g);
    std::vector<Job> jobs = {constrained_job(g, 0.0f, 1), constrained_job(g, 1.0f, 2, 3),
                             constrained_job(g, 1.5f, 3)};
    jobs.push_back(Job{});  // an unconstrained neighbour in the same batches
    jobs.back().request.prompt = {1, 300, 301, 302};
    jobs.back().request.sampling.max_tokens = 20;
    jobs.back().request.sampling.ignore_eos = true;

    const std::vector<Outcome> out = run_jobs(*m.model, small_config(), jobs);
    const std::regex sentence("The (cat|dog) is [a-z]{1,8}[.!]");
    for (size_t j = 0; j < 3; ++j) {
        ASSERT_EQ(out[j].samples.size(), static_cast<size_t>(jobs[j].request.sampling.n)) << "job " << j;
        for (const auto& s : out[j].samples) {
            EXPECT_TRUE(std::regex_match(s.text, sentence)) << "job " << j << ": '" << s.text << "'";
            EXPECT_EQ(pieces_of(*tok, s.token_ids), s.text) << "the text is the tokens' pieces";
            EXPECT_EQ(s.finish_reason, FinishReason::stop) << "nothing can follow '.': the sample ends";
        }
    }
    EXPECT_EQ(out[3].samples.at(0).token_ids.size(), 20u) << "the free request is not constrained";
}

TEST(EngineGrammar, SampledJsonIsValidUnderItsSchema) {
    LoadedModel m = load_random();
    ASSERT_TRUE(m);
    const auto schema = nlohmann::ordered_json::parse(R"({
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 12},
            "age": {"type": "integer"},
            "pets": {"type": "array", "items": {"enum": ["cat", "dog", "bird"]}, "maxItems": 3},
            "happy": {"type": "boolean"}
        },
        "required": ["name", "age", "pets"],
        "additionalProperties": false
    })");
    auto gbnf = grammar::json_schema_to_gbnf(schema);
    ASSERT_TRUE(gbnf.is_ok()) << gbnf.status().to_string();
    const auto g = compile(*gbnf);
    ASSERT_TRUE(g);
    std::vector<Job> jobs;
    for (uint64_t seed = 1; seed <= 4; ++seed) jobs.push_back(constrained_job(g, 1.0f, seed, 2));
    jobs.push_back(constrained_job(g, 0.0f, 9));

    const std::vector<Outcome> out = run_jobs(*m.model, small_config(), jobs);
    int samples = 0;
    for (size_t j = 0; j < jobs.size(); ++j) {
        for (const auto& s : out[j].samples) {
            ++samples;
            ASSERT_EQ(s.finish_reason, FinishReason::stop) << "job " << j << ": " << s.text;
            const auto v = nlohmann::json::parse(s.text, nullptr, false);
            ASSERT_FALSE(v.is_discarded()) << "not JSON: " << s.text;
            ASSERT_TRUE(v.is_object()) << s.text;
            ASSERT_TRUE(v.at("name").is_string()) << s.text;
            EXPECT_LE(code_points(v["name"].get<std::string>()), 12u) << s.text;
            EXPECT_TRUE(v.at("age").is_number_integer()) << s.text;
            ASSERT_TRUE(v.at("pets").is_array()) << s.text;
            EXPECT_LE(v["pets"].size(), 3u) << s.text;
            for (const auto& p : v["pets"]) EXPECT_TRUE(p == "cat" || p == "dog" || p == "bird") << s.text;
            if (v.contains("happy")) {
                EXPECT_TRUE(v["happy"].is_boolean()) << s.text;
            }
            for (const auto& [key, value] : v.items()) {
                EXPECT_TRUE(key == "name" || key == "age" || key == "pets" || key == "happy") << s.text;
            }
        }
    }
    EXPECT_EQ(samples, 9);
    // Same seed, same request: the same JSON.
    const std::vector<Outcome> again = run_jobs(*m.model, small_config(), {jobs[0]});
    EXPECT_EQ(again[0].samples.at(0).text, out[0].samples.at(0).text);
}

TEST(EngineGrammar, IgnoreEosStillEndsWhenNothingCanFollow) {
    LoadedModel m = load_random();
    ASSERT_TRUE(m);
    Job job = constrained_job(compile(R"(root ::= "yes" | "no")"), 0.8f, 5);
    job.request.sampling.ignore_eos = true;
    const std::vector<Outcome> out = run_jobs(*m.model, small_config(), {job});
    const auto& s = out[0].samples.at(0);
    EXPECT_TRUE(s.text == "yes" || s.text == "no") << s.text;
    EXPECT_EQ(s.finish_reason, FinishReason::stop);
}

TEST(EngineGrammar, AGrammarTheVocabularyCannotSpellFailsOnlyItsRequest) {
    LoadedModel m = load_random();
    ASSERT_TRUE(m);
    const Tokenizer* tok = m.model->tokenizer();
    // Every token that could start "b" is biased away: nothing may be sampled.
    Job job = constrained_job(compile(R"(root ::= "b")"), 0.0f, 1);
    for (TokenId t = 0; t < tok->vocab_size(); ++t) {
        if (tok->token_to_piece(t) == "b") job.request.sampling.logit_bias.emplace_back(t, -INFINITY);
    }
    ASSERT_FALSE(job.request.sampling.logit_bias.empty());
    Job sampled = job;
    sampled.request.sampling.temperature = 1.0f;
    Job free_job;
    free_job.request.prompt = {1, 300, 301};
    free_job.request.sampling.max_tokens = 8;
    free_job.request.sampling.ignore_eos = true;

    const std::vector<Outcome> out = run_jobs(*m.model, small_config(), {job, sampled, free_job});
    for (size_t j = 0; j < 2; ++j) {
        EXPECT_EQ(out[j].finish.reason, FinishReason::error) << "job " << j;
        EXPECT_NE(out[j].finish.message.find("grammar"), std::string::npos) << out[j].finish.message;
    }
    EXPECT_EQ(out[2].finish.reason, FinishReason::length);
    EXPECT_EQ(out[2].samples.at(0).token_ids.size(), 8u);
}

}  // namespace
}  // namespace pagoda::engine_test
