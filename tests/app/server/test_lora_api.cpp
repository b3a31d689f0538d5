// LoRA adapters through the API and the CLI (issue #8): /v1/models lists them, "ADAPTER"
// and "BASE:ADAPTER" answer with the adapter (== the merged model's greedy output), vLLM's
// load / unload endpoints (success, bad and hostile files, unknown names, off by default),
// a stream keeps its adapter through an unload, the response cache keeps base and adapter
// apart, and `pagoda generate --lora` gives the same text. Seeded random models and
// adapters (tests/fixtures/random_lora.h); no ../shared data.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "fixtures/random_lora.h"
#include "http_test_client.h"
#include "server/response_cache.h"
#include "server_test_fixture.h"
#include "tokenizer/tokenizer.h"

namespace pagoda::server::test {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::vector<int> kPrompt = {1, 17, 42, 99, 250, 7, 311, 64};

fixtures::RandomModelConfig model_config() {
    fixtures::RandomModelConfig c;
    c.seed = 21;
    c.dim = 64;
    c.n_layers = 2;
    c.ffn = 128;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.vocab = 512;
    c.ctx = 1024;
    return c;
}

class LoraApiTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ =
            new std::string((fs::temp_directory_path() / ("pagoda_lora_api_" + std::to_string(::getpid()))).string());
        fixtures::RandomLoraConfig lc;
        lc.seed = 7;
        auto files = fixtures::write_random_lora_files(model_config(), lc, *dir_);
        ASSERT_TRUE(files.is_ok()) << files.status().to_string();
        files_ = new fixtures::RandomLoraFiles(std::move(files.value()));
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        if (dir_) fs::remove_all(*dir_, ec);
        delete files_;
        delete dir_;
        files_ = nullptr;
        dir_ = nullptr;
    }

    void SetUp() override {
        ASSERT_NE(files_, nullptr);
        models_ = std::make_shared<ModelManager>(cpu_factory(test_engine_config()), ModelManagerConfig{0, 0.0});
        ASSERT_TRUE(models_->add_file(files_->base_gguf, "base").is_ok());
        ASSERT_TRUE(models_->add_file(files_->merged_gguf, "merged").is_ok());
        lora_ = std::make_shared<LoraCatalog>();
        ASSERT_TRUE(lora_->add(LoraEntry{"ada", "base", files_->peft_dir, 1.0f}).is_ok());
        ServerConfig sc;
        sc.api.lora = lora_;
        sc.api.allow_lora_updates = true;
        sc.api.poll_interval = std::chrono::milliseconds(5);
        ResponseCacheConfig rc;
        auto cache = open_response_cache("sqlite:" + *dir_ + "/cache-" + std::to_string(++cache_n_) + ".db", rc);
        ASSERT_TRUE(cache.is_ok()) << cache.status().to_string();
        sc.api.response_cache = cache.value();
        cache_ = cache.value();
        server_ = start_server(models_, sc);
        ASSERT_NE(server_, nullptr);
    }

    RawResponse post(const std::string& path, const Json& body) {
        return http_request(server_->port(), "POST", path, body.dump(), {{"Content-Type", "application/json"}});
    }

    // Greedy completion text of kPrompt (token ids) with `model`; "" and a failure on error.
    std::string complete(const std::string& model, RawResponse* raw = nullptr, int max_tokens = 12,
                         const Json& logit_bias = Json()) {
        Json body = {{"model", model},
                     {"prompt", kPrompt},
                     {"max_tokens", max_tokens},
                     {"temperature", 0},
                     {"ignore_eos", true}};
        if (!logit_bias.is_null()) body["logit_bias"] = logit_bias;
        RawResponse r = post("/v1/completions", body);
        if (raw) *raw = r;
        EXPECT_EQ(r.status, 200) << model << ": " << r.body;
        if (r.status != 200) return "";
        Json j = Json::parse(r.body);
        EXPECT_EQ(j["model"], model);  // echoed as asked (vLLM does the same)
        return j["choices"][0]["text"].get<std::string>();
    }

    static std::string* dir_;
    static fixtures::RandomLoraFiles* files_;
    static int cache_n_;
    std::shared_ptr<ModelManager> models_;
    std::shared_ptr<LoraCatalog> lora_;
    std::shared_ptr<ResponseCache> cache_;
    std::unique_ptr<RunningServer> server_;
};

std::string* LoraApiTest::dir_ = nullptr;
fixtures::RandomLoraFiles* LoraApiTest::files_ = nullptr;
int LoraApiTest::cache_n_ = 0;

TEST_F(LoraApiTest, ModelsListsAdaptersWithParentAndRoot) {
    RawResponse r = http_request(server_->port(), "GET", "/v1/models");
    ASSERT_EQ(r.status, 200) << r.body;
    Json j = Json::parse(r.body);
    const Json* ada = nullptr;
    for (const Json& m : j["data"]) {
        if (m["id"] == "ada") ada = &m;
    }
    ASSERT_NE(ada, nullptr) << r.body;
    EXPECT_EQ((*ada)["parent"], "base");
    EXPECT_EQ((*ada)["root"], files_->peft_dir);
    EXPECT_EQ((*ada)["object"], "model");
    // One entry per adapter (the base:adapter alias is accepted, not listed).
    EXPECT_EQ(j["data"].size(), 3u);

    RawResponse one = http_request(server_->port(), "GET", "/v1/models/base:ada");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(Json::parse(one.body)["id"], "ada");
}

TEST_F(LoraApiTest, AdapterByNameAndBaseColonNameGivesTheMergedModelsOutput) {
    const std::string base = complete("base");
    const std::string merged = complete("merged");
    const std::string by_name = complete("ada");
    const std::string by_pair = complete("base:ada");
    ASSERT_FALSE(merged.empty());
    EXPECT_NE(base, merged) << "the adapter should change the greedy output";
    EXPECT_EQ(by_name, merged);
    EXPECT_EQ(by_pair, merged);
    // Chat too (the same resolution path); it must differ from the base's answer.
    Json chat = {{"model", "ada"},
                 {"messages", {{{"role", "user"}, {"content", "hi"}}}},
                 {"max_tokens", 8},
                 {"temperature", 0},
                 {"ignore_eos", true}};
    RawResponse r = post("/v1/chat/completions", chat);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json::parse(r.body)["model"], "ada");
    // Unknown adapters and a wrong base: 404 model_not_found.
    EXPECT_EQ(post("/v1/completions", {{"model", "nope"}, {"prompt", "x"}}).status, 404);
    EXPECT_EQ(post("/v1/completions", {{"model", "merged:ada"}, {"prompt", "x"}}).status, 404);
    // Tokenize accepts an adapter's name (its base's tokenizer).
    RawResponse t = post("/tokenize", {{"model", "base:ada"}, {"prompt", "hello"}});
    EXPECT_EQ(t.status, 200) << t.body;
}

TEST_F(LoraApiTest, ResponseCacheKeepsBaseAndAdapterApart) {
    // The cache stores only valid UTF-8 text: ban the random vocabulary's byte tokens, whose
    // pieces alone are not.
    auto base_model = models_->acquire("base");
    ASSERT_TRUE(base_model.ok());
    const Tokenizer* tok = base_model.value()->engine->tokenizer();
    ASSERT_NE(tok, nullptr);
    Json ban = Json::object();
    for (TokenId id = 0; id < tok->vocab_size(); ++id) {
        const std::string piece = tok->token_to_piece(id, true);
        bool ascii = true;
        for (unsigned char c : piece) ascii = ascii && c < 0x80;
        if (!ascii) ban[std::to_string(id)] = -100;
    }
    RawResponse first_base, again_base, first_ada, again_ada, pair_ada;
    const std::string base = complete("base", &first_base, 8, ban);
    complete("base", &again_base, 8, ban);
    const std::string ada = complete("ada", &first_ada, 8, ban);
    const std::string ada2 = complete("ada", &again_ada, 8, ban);
    EXPECT_EQ(first_base.headers["x-pagoda-cache"], "miss");
    ASSERT_EQ(again_base.headers["x-pagoda-cache"], "hit")
        << "the cache itself does not store: stores " << cache_->counters().stores.load() << ", failures "
        << cache_->counters().store_failures.load() << ", text '" << base << "'";
    EXPECT_EQ(first_ada.headers["x-pagoda-cache"], "miss") << "an adapter request must not hit the base's entry";
    EXPECT_EQ(again_ada.headers["x-pagoda-cache"], "hit");
    // The same adapter at another scale is another entry.
    ASSERT_EQ(
        post("/v1/load_lora_adapter", {{"lora_name", "half"}, {"lora_path", files_->lora_gguf}, {"scale", 0.5}}).status,
        200);
    complete("half", &pair_ada, 8, ban);
    EXPECT_EQ(pair_ada.headers["x-pagoda-cache"], "miss");
    EXPECT_NE(base, ada);
    EXPECT_EQ(ada, ada2);
}

TEST_F(LoraApiTest, LoadAndUnloadEndpoints) {
    // The GGUF LoRA form of the same adapter, loaded at run time.
    RawResponse r = post("/v1/load_lora_adapter", {{"lora_name", "ada2"}, {"lora_path", files_->lora_gguf}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find("Success"), std::string::npos) << r.body;
    EXPECT_EQ(complete("base:ada2"), complete("merged"));

    // Taken names: 400.
    EXPECT_EQ(post("/v1/load_lora_adapter", {{"lora_name", "ada2"}, {"lora_path", files_->lora_gguf}}).status, 400);
    EXPECT_EQ(post("/v1/load_lora_adapter", {{"lora_name", "merged"}, {"lora_path", files_->lora_gguf}}).status, 400);
    // Missing fields, a path that does not exist, an unknown base: 400 with a message.
    EXPECT_EQ(post("/v1/load_lora_adapter", {{"lora_name", "x"}}).status, 400);
    RawResponse missing = post("/v1/load_lora_adapter", {{"lora_name", "x"}, {"lora_path", *dir_ + "/nothing.gguf"}});
    EXPECT_EQ(missing.status, 400) << missing.body;
    EXPECT_FALSE(Json::parse(missing.body)["error"]["message"].get<std::string>().empty());
    EXPECT_EQ(post("/v1/load_lora_adapter",
                   {{"lora_name", "x"}, {"lora_path", files_->lora_gguf}, {"base_model_name", "nope"}})
                  .status,
              400);
    // Hostile files: garbage with a .gguf name, a PEFT folder whose config is not JSON, and
    // a real model file where an adapter belongs. 400, and the server goes on.
    const std::string junk = *dir_ + "/junk.gguf";
    {
        std::ofstream f(junk, std::ios::binary);
        f << "GGUF\x03\0\0\0garbage that is not a GGUF file at all";
    }
    const std::string bad_peft = *dir_ + "/bad_peft";
    fs::create_directories(bad_peft);
    {
        std::ofstream(bad_peft + "/adapter_config.json") << "{not json";
        std::ofstream(bad_peft + "/adapter_model.safetensors") << "\xff\xff\xff\xff\xff\xff\xff\x7f";
    }
    for (const std::string& path : {junk, bad_peft, files_->base_gguf}) {
        RawResponse h = post("/v1/load_lora_adapter", {{"lora_name", "hostile"}, {"lora_path", path}});
        EXPECT_EQ(h.status, 400) << path << ": " << h.body;
    }
    EXPECT_EQ(post("/v1/load_lora_adapter", Json::array()).status, 400);
    EXPECT_EQ(http_request(server_->port(), "POST", "/v1/load_lora_adapter", "{oops").status, 400);

    // Unload: 200, then the name is gone (404 for requests and for a second unload).
    RawResponse u = post("/v1/unload_lora_adapter", {{"lora_name", "ada2"}});
    ASSERT_EQ(u.status, 200) << u.body;
    EXPECT_NE(u.body.find("Success"), std::string::npos);
    EXPECT_EQ(post("/v1/unload_lora_adapter", {{"lora_name", "ada2"}}).status, 404);
    EXPECT_EQ(post("/v1/unload_lora_adapter", {{"lora_name", "never-loaded"}}).status, 404);
    EXPECT_EQ(post("/v1/completions", {{"model", "ada2"}, {"prompt", "x"}}).status, 404);
    EXPECT_EQ(complete("base").empty(), false);
}

TEST_F(LoraApiTest, StreamKeepsItsAdapterThroughAnUnload) {
    const int max_tokens = 1000;
    HttpConnection c(server_->port());
    ASSERT_TRUE(c.ok());
    Json body = {{"model", "ada"},
                 {"prompt", kPrompt},
                 {"max_tokens", max_tokens},
                 {"temperature", 0},
                 {"stream", true},
                 {"ignore_eos", true},
                 {"stream_options", {{"include_usage", true}}}};
    ASSERT_TRUE(c.send_request("POST", "/v1/completions", body.dump(), {{"Content-Type", "application/json"}}));
    RawResponse head = c.read_head();
    ASSERT_EQ(head.status, 200);
    c.read_until("data: ");  // the stream runs
    RawResponse u = post("/v1/unload_lora_adapter", {{"lora_name", "ada"}});
    ASSERT_EQ(u.status, 200) << u.body;
    // The engine still holds it for the running stream.
    auto base = models_->acquire("base");
    ASSERT_TRUE(base.ok());
    bool held = false;
    for (const AdapterInfo& info : base.value()->engine->list_adapters()) {
        held = held || (info.name == "ada" && info.unloading && info.in_flight == 1);
    }
    EXPECT_TRUE(held) << "the stream should still run (1000 tokens) when the unload answers";
    const std::string rest = c.read_body(head);
    ASSERT_NE(rest.find("[DONE]"), std::string::npos);
    int64_t completion_tokens = -1;
    for (const std::string& p : sse_payloads(rest)) {
        if (p == "[DONE]") continue;
        Json j = Json::parse(p, nullptr, false);
        if (j.is_object() && j.contains("usage") && j["usage"].is_object()) {
            completion_tokens = j["usage"]["completion_tokens"].get<int64_t>();
        }
    }
    EXPECT_EQ(completion_tokens, max_tokens) << "the stream ended early";
    // New requests no longer find it; once the stream finished the engine dropped it.
    EXPECT_EQ(post("/v1/completions", {{"model", "ada"}, {"prompt", "x"}}).status, 404);
    ASSERT_TRUE(wait_kv_free(*base.value()->engine));
    EXPECT_TRUE(base.value()->engine->list_adapters().empty());
}

// The "lora" extension field stacks adapters: the same adapter twice at half scale (as PEFT
// and as GGUF LoRA) is the adapter at full scale.
TEST_F(LoraApiTest, RequestStacksAdaptersWithTheLoraField) {
    ASSERT_EQ(
        post("/v1/load_lora_adapter", {{"lora_name", "half"}, {"lora_path", files_->lora_gguf}, {"scale", 0.5}}).status,
        200);
    Json body = {{"model", "base"},    {"prompt", kPrompt},
                 {"max_tokens", 12},   {"temperature", 0},
                 {"ignore_eos", true}, {"lora", {{{"name", "ada"}, {"scale", 0.5}}, {{"name", "half"}}}}};
    RawResponse r = post("/v1/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json::parse(r.body)["choices"][0]["text"], complete("merged"));
    // On top of an adapter named by "model".
    body["model"] = "half";
    body["lora"] = {{{"name", "ada"}, {"scale", 0.5}}};
    r = post("/v1/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json::parse(r.body)["choices"][0]["text"], complete("merged"));
    // Twice the same, unknown names, wrong shapes: 400 naming the field.
    body["lora"] = {{{"name", "half"}}};
    EXPECT_EQ(post("/v1/completions", body).status, 400);
    body["lora"] = {{{"name", "nope"}}};
    r = post("/v1/completions", body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(Json::parse(r.body)["error"]["param"], "lora[0]");
    body["lora"] = "ada";
    EXPECT_EQ(post("/v1/completions", body).status, 400);
    body["lora"] = {{{"name", "ada"}, {"scale", "big"}}};
    EXPECT_EQ(post("/v1/completions", body).status, 400);
}

// Base models come and go (--max-loaded 1): the adapter is loaded again into the new engine,
// and an adapter unloaded and loaded again under the same name is the new file.
TEST_F(LoraApiTest, AdapterFollowsItsBaseThroughReloads) {
    auto models = std::make_shared<ModelManager>(cpu_factory(test_engine_config()), ModelManagerConfig{1, 0.0});
    ASSERT_TRUE(models->add_file(files_->base_gguf, "base").is_ok());
    ASSERT_TRUE(models->add_file(files_->merged_gguf, "merged").is_ok());
    ServerConfig sc;
    sc.api.lora = lora_;
    sc.api.allow_lora_updates = true;
    server_ = start_server(models, sc);
    ASSERT_NE(server_, nullptr);
    const std::string first = complete("ada");
    const std::string merged = complete("merged");  // unloads base
    for (const ModelListing& l : models->list()) EXPECT_EQ(l.loaded, l.id == "merged") << l.id;
    EXPECT_EQ(complete("ada"), first);  // base loads again, and the adapter with it
    EXPECT_EQ(first, merged);
    // Same name, another file (scale 0: the base model's output).
    ASSERT_EQ(post("/v1/unload_lora_adapter", {{"lora_name", "ada"}}).status, 200);
    ASSERT_EQ(post("/v1/load_lora_adapter", {{"lora_name", "ada"}, {"lora_path", files_->lora_gguf}, {"scale", 0}})
                  .status,
              200);
    EXPECT_EQ(complete("ada"), complete("base"));
}

TEST_F(LoraApiTest, UpdatesAreOffUnlessAllowed) {
    ApiOptions o;
    ApiService api(models_, o);
    HttpReply r = api.load_lora_adapter(R"({"lora_name":"a","lora_path":"/etc/passwd"})");
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(api.unload_lora_adapter(R"({"lora_name":"a"})").status, 403);
}

TEST(LoraSpec, ParsesNamesPathsAndScales) {
    auto a = parse_lora_spec("sql=/models/sql-lora:0.5");
    ASSERT_TRUE(a.is_ok());
    EXPECT_EQ(a->name, "sql");
    EXPECT_EQ(a->base, "");
    EXPECT_EQ(a->path, "/models/sql-lora");
    EXPECT_FLOAT_EQ(a->scale, 0.5f);
    auto b = parse_lora_spec("qwen:sql=/m/a:b.gguf");
    ASSERT_TRUE(b.is_ok());
    EXPECT_EQ(b->base, "qwen");
    EXPECT_EQ(b->name, "sql");
    EXPECT_EQ(b->path, "/m/a:b.gguf");  // not a number: part of the path
    EXPECT_FLOAT_EQ(b->scale, 1.0f);
    EXPECT_FALSE(parse_lora_spec("/no/name").is_ok());
    EXPECT_FALSE(parse_lora_spec("=/p").is_ok());
    EXPECT_FALSE(parse_lora_spec("a=/p:1e9").is_ok());
    EXPECT_FALSE(parse_lora_spec("a=/p:nan").is_ok());
}

// `pagoda generate --lora` gives the merged model's greedy tokens, and the server's text.
TEST_F(LoraApiTest, GenerateCliWithLora) {
    std::string ids;
    for (int t : kPrompt) ids += (ids.empty() ? "" : " ") + std::to_string(t);
    auto run = [&](const std::string& model, const std::string& extra) {
        const std::string cmd = std::string(PAGODA_CLI) + " generate --model '" + model + "' --prompt-ids '" + ids +
                                "' -n 12 --temp 0 --ignore-eos --device cpu --threads 1 " + extra + " 2>/dev/null";
        std::string out;
        FILE* p = ::popen(cmd.c_str(), "r");
        if (!p) return out;
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
        EXPECT_EQ(::pclose(p), 0) << cmd;
        return out;
    };
    const std::string peft_ids = run(files_->base_gguf, "--ids --lora '" + files_->peft_dir + ":1'");
    const std::string gguf_ids = run(files_->base_gguf, "--ids --lora '" + files_->lora_gguf + "'");
    const std::string merged_ids = run(files_->merged_gguf, "--ids");
    const std::string base_ids = run(files_->base_gguf, "--ids");
    ASSERT_FALSE(merged_ids.empty());
    EXPECT_EQ(peft_ids, merged_ids);
    EXPECT_EQ(gguf_ids, merged_ids);
    EXPECT_NE(peft_ids, base_ids);
    // Scale 0: the base model. A stack of two adapters (the same one at 0.5, in both forms) is the adapter at 1.
    EXPECT_EQ(run(files_->base_gguf, "--ids --lora '" + files_->lora_gguf + ":0'"), base_ids);
    EXPECT_EQ(
        run(files_->base_gguf, "--ids --lora '" + files_->lora_gguf + ":0.5' --lora '" + files_->peft_dir + ":0.5'"),
        merged_ids);
    // Text: the server's answer for the adapter (which replaces stray bytes with U+FFFD), on
    // the first tokens, whose text is valid UTF-8.
    const std::string text = run(files_->base_gguf, "-n 5 --lora '" + files_->peft_dir + "'");
    EXPECT_EQ(text, complete("ada", nullptr, 5));
    // A file that is not an adapter: a clear error, exit 1.
    const std::string bad = std::string(PAGODA_CLI) + " generate --model '" + files_->base_gguf +
                            "' --prompt-ids 1 -n 1 --lora '" + files_->base_gguf + "' >/dev/null 2>&1";
    EXPECT_NE(std::system(bad.c_str()), 0);
}

// `pagoda serve --lora`: the adapter answers under its name and BASE:NAME, /v1/models lists it,
// the runtime endpoints are off without --allow-lora-loading, and a bad --lora file stops the start.
TEST_F(LoraApiTest, ServeCliWithLora) {
    auto serve = [&](const std::vector<std::string>& extra, const std::string& log, pid_t& pid) {
        std::vector<std::string> argv = {PAGODA_CLI, "serve",    "--model", files_->base_gguf, "--port", "0", "--cache",
                                         "off",      "--device", "cpu",     "--threads",       "1"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        pid = ::fork();
        if (pid == 0) {
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        if (fd >= 0) ::close(fd);
        // The port, once "listening on http://127.0.0.1:PORT" appears; 0 when it exits first.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
            std::ifstream in(log);
            const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            const std::string mark = "listening on http://127.0.0.1:";
            if (size_t at = text.find(mark); at != std::string::npos) return std::atoi(text.c_str() + at + mark.size());
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pid = -1;
                return 0;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return 0;
    };
    auto stop = [](pid_t pid) {
        if (pid <= 0) return;
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
    };

    const std::string log = *dir_ + "/serve.log";
    pid_t pid = -1;
    const int port = serve(
        {"--lora", "ada=" + files_->peft_dir + ":1", "--lora", "base:half=" + files_->lora_gguf + ":0.5"}, log, pid);
    ASSERT_GT(port, 0) << "pagoda serve did not start";
    RawResponse models = http_request(port, "GET", "/v1/models");
    EXPECT_EQ(models.status, 200);
    EXPECT_NE(models.body.find("\"ada\""), std::string::npos) << models.body;
    EXPECT_NE(models.body.find("\"half\""), std::string::npos) << models.body;
    Json body = {
        {"model", "base:ada"}, {"prompt", kPrompt}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}};
    RawResponse a = http_request(port, "POST", "/v1/completions", body.dump(), {{"Content-Type", "application/json"}});
    ASSERT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(Json::parse(a.body)["choices"][0]["text"], complete("merged"));
    RawResponse load = http_request(port, "POST", "/v1/load_lora_adapter",
                                    Json{{"lora_name", "x"}, {"lora_path", files_->lora_gguf}}.dump());
    EXPECT_EQ(load.status, 403) << load.body;
    stop(pid);

    // A file that is not an adapter: exit 1 with the loader's reason, before serving.
    pid_t bad_pid = -1;
    EXPECT_EQ(serve({"--lora", "bad=" + files_->base_gguf}, log, bad_pid), 0);
    stop(bad_pid);
    std::ifstream in(log);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("--lora bad"), std::string::npos) << text;
}

}  // namespace
}  // namespace pagoda::server::test
