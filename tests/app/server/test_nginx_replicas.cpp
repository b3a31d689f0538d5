// Scale-out (label slow): three `pagoda serve` processes (the real binary) behind a real nginx
// that the test starts on a free loopback port with the shipped installer/nginx/pagoda.conf
// (only its ports swapped). Checks that concurrent streams are spread over the replicas, that
// an X-Session-Id keeps hitting one replica (its /metrics count says so), and that draining
// one replica with SIGTERM and starting it again in the middle of a load loses no request.
//
// nginx runs as a plain child process (daemon off, master_process off, its own prefix, pid,
// logs and temp folders in a temp dir): the system's nginx service is never touched. The test
// skips when no nginx binary is installed (scripts/setup.sh installs Debian's `nginx`).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "fixtures/random_model.h"
#include "http_test_client.h"

namespace pagoda::server::test {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kReplicas = 3;

std::string find_nginx() {
    for (const char* p :
         {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"}) {
        if (::access(p, X_OK) == 0) return p;
    }
    return {};
}

// A port nobody listens on right now (bound, read back, released).
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
        port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
}

// Whether `pagoda serve --help` lists `option`.
bool serve_has_option(const std::string& option) {
    FILE* p = ::popen((std::string(PAGODA_CLI) + " serve --help 2>&1").c_str(), "r");
    if (!p) return false;
    std::string help;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) help.append(buf, n);
    ::pclose(p);
    return help.find(option + " ") != std::string::npos;
}

std::string read_file(const std::string& path) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string tail(const std::string& s, size_t n = 3000) { return s.size() > n ? s.substr(s.size() - n) : s; }

bool replace_once(std::string& s, const std::string& from, const std::string& to) {
    const size_t at = s.find(from);
    if (at == std::string::npos || s.find(from, at + 1) != std::string::npos) return false;
    s.replace(at, from.size(), to);
    return true;
}

// The child processes of one test. Whatever happens (a failed ASSERT included), the
// destructor kills and reaps every one still running; each child also gets SIGKILL if the
// test process dies (PR_SET_PDEATHSIG).
class Children {
public:
    ~Children() {
        for (pid_t pid : pids_) ::kill(pid, SIGKILL);
        for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
    }

    // Starts argv[0] with stdout and stderr to `log`; -1 when fork fails.
    pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
        // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
        std::vector<char*> args;
        for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(126);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        if (fd >= 0) ::close(fd);
        if (pid > 0) pids_.push_back(pid);
        return pid;
    }

    // Waits up to timeout_s for `pid` to exit; its wait status, or -1 if it still runs.
    int wait_exit(pid_t pid, double timeout_s) {
        const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
        for (;;) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                pids_.erase(std::remove(pids_.begin(), pids_.end(), pid), pids_.end());
                return status;
            }
            if (Clock::now() > deadline) return -1;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    bool running(pid_t pid) {
        int status = 0;
        return ::waitpid(pid, &status, WNOHANG) == 0;
    }

private:
    std::vector<pid_t> pids_;
};

bool wait_status(int port, const std::string& path, int want, double timeout_s) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (Clock::now() < deadline) {
        if (http_request(port, "GET", path).status == want) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

// pagoda_requests_total{replica="<id>",endpoint="/v1/completions",status="200"} of one replica.
int64_t completions_served(int port, const std::string& replica) {
    const RawResponse r = http_request(port, "GET", "/metrics");
    if (r.status != 200) return -1;
    const std::string key =
        "pagoda_requests_total{replica=\"" + replica + "\",endpoint=\"/v1/completions\",status=\"200\"} ";
    const size_t at = r.body.find(key);
    if (at == std::string::npos) return 0;
    return std::atoll(r.body.c_str() + at + key.size());
}

// A request is counted just after its last byte went out, so a client can ask /metrics
// before its own request shows: waits (bounded) until `replica` has counted `want`.
void wait_counted(int port, const std::string& replica, int64_t want) {
    for (int i = 0; i < 250 && completions_served(port, replica) < want; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

struct StreamResult {
    bool ok = false;
    std::string replica;  // x-pagoda-replica
    std::string error;
};

// One streaming completion through `port`; ok when it is a 200 SSE stream that ends with
// a finish reason and [DONE], with no error event.
StreamResult stream_completion(int port, const std::string& session, int seed, int max_tokens) {
    StreamResult out;
    HttpConnection c(port);
    if (!c.ok()) {
        out.error = "connect failed";
        return out;
    }
    const Json body = {{"prompt", "Once upon a time"}, {"max_tokens", max_tokens}, {"ignore_eos", true},
                       {"temperature", 0.8},           {"seed", seed},             {"stream", true}};
    Headers headers;
    if (!session.empty()) headers.emplace_back("X-Session-Id", session);
    c.send_request("POST", "/v1/completions", body.dump(), headers);
    const RawResponse head = c.read_head();
    auto rep = head.headers.find("x-pagoda-replica");
    if (rep != head.headers.end()) out.replica = rep->second;
    if (head.status != 200) {
        out.error = "status " + std::to_string(head.status) + " " + c.read_body(head).substr(0, 300);
        return out;
    }
    const std::string raw = c.read_body(head);
    bool framing = false;
    const auto payloads = sse_payloads(raw, &framing);
    if (!framing || payloads.size() < 2 || payloads.back() != "[DONE]") {
        out.error = "bad stream: " + raw.substr(0, 300);
        return out;
    }
    bool finished = false;
    for (size_t i = 0; i + 1 < payloads.size(); ++i) {
        const Json j = Json::parse(payloads[i], nullptr, false);
        if (j.is_discarded() || j.contains("error")) {
            out.error = "error event: " + payloads[i].substr(0, 300);
            return out;
        }
        if (j.contains("choices") && !j["choices"].empty() && j["choices"][0]["finish_reason"].is_string()) {
            finished = j["choices"][0]["finish_reason"] == "length";
        }
    }
    if (!finished) {
        out.error = "no finish_reason length: " + raw.substr(0, 300);
        return out;
    }
    out.ok = true;
    return out;
}

class NginxReplicas : public ::testing::Test {
protected:
    struct Replica {
        std::string id;
        int port = 0;
        pid_t pid = -1;
        std::string log;
    };

    void SetUp() override {
        nginx_ = find_nginx();
        if (nginx_.empty()) GTEST_SKIP() << "nginx is not installed (Debian package `nginx`, see scripts/setup.sh)";
        char tmpl[] = "/tmp/pagoda-nginx-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);

        // stories260K when ../shared has it, else a seeded random-weight model of the same size.
        model_ = std::string(PAGODA_SHARED_DIR) + "/models/stories260K.gguf";
        if (!fs::exists(model_)) {
            model_ = dir_ + "/random.gguf";
            fixtures::RandomModelConfig rc;
            rc.dim = 64;
            rc.n_layers = 2;
            rc.ffn = 128;
            rc.n_heads = 4;
            rc.n_kv_heads = 2;
            rc.ctx = 512;
            ASSERT_TRUE(fixtures::write_random_model(rc, model_).is_ok());
        }

        for (int i = 0; i < kReplicas; ++i) {
            Replica r;
            r.id = "r" + std::to_string(i);
            r.port = free_port();
            r.log = dir_ + "/" + r.id + ".log";
            ASSERT_GT(r.port, 0);
            replicas_.push_back(r);
        }
        for (Replica& r : replicas_) ASSERT_TRUE(start_replica(r));
        for (Replica& r : replicas_) {
            ASSERT_TRUE(wait_status(r.port, "/health/ready", 200, 60)) << r.id << ":\n" << tail(read_file(r.log));
        }
        ASSERT_NO_FATAL_FAILURE(start_nginx());
    }

    void TearDown() override {
        if (HasFailure() && !dir_.empty()) {
            for (const Replica& r : replicas_) std::cerr << "--- " << r.id << " log:\n" << tail(read_file(r.log));
            std::cerr << "--- nginx error log:\n" << tail(read_file(dir_ + "/error.log"));
        }
        children_.reset();  // kills what still runs, before its files go
        if (!dir_.empty()) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
        }
    }

    bool start_replica(Replica& r) {
        std::vector<std::string> argv = {PAGODA_CLI,  "serve",    "--model",  model_, "--port", std::to_string(r.port),
                                         "--replica-id", r.id,    "--threads", "1",   "--parallel", "8",
                                         "--ctx-size", "256",     "--shutdown-grace", "60", "--seed", "1"};
        // Every request here is seeded, so a response cache would answer repeats without the
        // engine (and the replicas would share its default file): the test is about routing.
        static const bool has_cache = serve_has_option("--cache");
        if (has_cache) argv.insert(argv.end(), {"--cache", "off"});
        r.pid = children_->spawn(argv, r.log);
        return r.pid > 0;
    }

    void start_nginx() {
        std::string conf = read_file(std::string(PAGODA_SOURCE_DIR) + "/installer/nginx/pagoda.conf");
        ASSERT_FALSE(conf.empty()) << "installer/nginx/pagoda.conf is missing";
        for (int i = 0; i < kReplicas; ++i) {
            ASSERT_TRUE(replace_once(conf, "127.0.0.1:" + std::to_string(8081 + i) + " ",
                                     "127.0.0.1:" + std::to_string(replicas_[i].port) + " "))
                << "pagoda.conf no longer lists the replica 127.0.0.1:" << 8081 + i;
        }
        nginx_port_ = free_port();
        ASSERT_TRUE(replace_once(conf, "listen 8080;", "listen 127.0.0.1:" + std::to_string(nginx_port_) + ";"))
            << "pagoda.conf no longer has 'listen 8080;'";
        std::ofstream(dir_ + "/pagoda.conf") << conf;
        for (const char* t : {"body", "proxy", "fastcgi", "uwsgi", "scgi"}) fs::create_directories(dir_ + "/" + t);
        std::ofstream main(dir_ + "/nginx.conf");
        main << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
             << "pid " << dir_ << "/nginx.pid;\nerror_log " << dir_ << "/error.log info;\n"
             << "events { worker_connections 1024; }\n"
             << "http {\n"
             << "  log_format up '$request $status $upstream_addr $upstream_status $http_x_session_id';\n"
             << "  access_log " << dir_ << "/access.log up;\n"
             << "  client_body_temp_path " << dir_ << "/body;\n  proxy_temp_path " << dir_ << "/proxy;\n"
             << "  fastcgi_temp_path " << dir_ << "/fastcgi;\n  uwsgi_temp_path " << dir_ << "/uwsgi;\n"
             << "  scgi_temp_path " << dir_ << "/scgi;\n"
             << "  include " << dir_ << "/pagoda.conf;\n}\n";
        main.close();
        const pid_t pid = children_->spawn(
            {nginx_, "-p", dir_ + "/", "-c", dir_ + "/nginx.conf", "-e", dir_ + "/error.log"}, dir_ + "/nginx.out");
        ASSERT_GT(pid, 0);
        ASSERT_TRUE(wait_status(nginx_port_, "/health", 200, 20))
            << "nginx did not come up:\n"
            << tail(read_file(dir_ + "/nginx.out")) << tail(read_file(dir_ + "/error.log"));
    }

    std::string nginx_;
    std::string dir_;
    std::string model_;
    std::unique_ptr<Children> children_ = std::make_unique<Children>();
    std::vector<Replica> replicas_;
    int nginx_port_ = 0;
};

TEST_F(NginxReplicas, SixtyConcurrentStreamsSpreadOverReplicas) {
    constexpr int kClients = 60;
    std::vector<StreamResult> results(kClients);
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&, i] { results[i] = stream_completion(nginx_port_, "", i, 8); });
    }
    for (auto& t : clients) t.join();

    std::map<std::string, int> by_replica;
    for (int i = 0; i < kClients; ++i) {
        EXPECT_TRUE(results[i].ok) << "client " << i << ": " << results[i].error;
        ++by_replica[results[i].replica];
    }
    EXPECT_EQ(by_replica.count(""), 0u) << "a response without x-pagoda-replica";
    EXPECT_GE(by_replica.size(), 2u) << "every stream went to one replica";

    // Each replica's own /metrics agrees with the headers the clients saw.
    int64_t total = 0;
    for (const Replica& r : replicas_) wait_counted(r.port, r.id, by_replica[r.id]);
    for (const Replica& r : replicas_) {
        const int64_t n = completions_served(r.port, r.id);
        EXPECT_EQ(n, by_replica[r.id]) << r.id;
        total += n;
    }
    EXPECT_EQ(total, kClients);
}

TEST_F(NginxReplicas, SessionHeaderKeepsOneReplica) {
    constexpr int kTurns = 5;
    std::set<std::string> used;
    for (int s = 0; s < 6; ++s) {
        const std::string session = "conversation-" + std::to_string(s);
        std::vector<int64_t> before;
        for (const Replica& r : replicas_) before.push_back(completions_served(r.port, r.id));
        std::string first;
        for (int turn = 0; turn < kTurns; ++turn) {
            const StreamResult res = stream_completion(nginx_port_, session, turn, 4);
            ASSERT_TRUE(res.ok) << session << " turn " << turn << ": " << res.error;
            if (turn == 0) first = res.replica;
            EXPECT_EQ(res.replica, first) << session << " moved at turn " << turn;
        }
        used.insert(first);
        // Visible in the metrics: the named replica counted all the turns, the others none.
        for (size_t i = 0; i < replicas_.size(); ++i) {
            if (replicas_[i].id == first) wait_counted(replicas_[i].port, first, before[i] + kTurns);
        }
        for (size_t i = 0; i < replicas_.size(); ++i) {
            const int64_t delta = completions_served(replicas_[i].port, replicas_[i].id) - before[i];
            EXPECT_EQ(delta, replicas_[i].id == first ? kTurns : 0) << session << " on " << replicas_[i].id;
        }
    }
    std::cerr << "[          ] 6 sessions landed on " << used.size() << " replica(s)\n";
}

TEST_F(NginxReplicas, DrainAndRestartMidLoadLosesNoRequest) {
    constexpr int kLoadThreads = 12;
    std::atomic<bool> stop{false};
    std::atomic<int> done{0};
    std::mutex mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> load;
    for (int t = 0; t < kLoadThreads; ++t) {
        load.emplace_back([&, t] {
            for (int i = 0; !stop && i < 100000; ++i) {
                // Half the clients pin a session, half are spread round robin.
                const std::string session = t % 2 == 0 ? "load-" + std::to_string(t) : "";
                // A quarter of the streams are long, so some surely run on r0 when it is drained.
                const int max_tokens = t % 4 == 3 ? 160 : 24;
                const StreamResult r = stream_completion(nginx_port_, session, t * 1000 + i, max_tokens);
                if (!r.ok) {
                    std::lock_guard<std::mutex> lock(mutex);
                    failures.push_back("thread " + std::to_string(t) + " (" + r.replica + "): " + r.error);
                }
                ++done;
            }
        });
    }
    struct Joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~Joiner() {
            stop = true;
            for (auto& t : threads) t.join();
        }
    } joiner{stop, load};

    auto wait_done = [&](int n, double timeout_s) {
        const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
        while (done < n && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        return done >= n;
    };
    ASSERT_TRUE(wait_done(36, 60)) << "the load does not get going";

    // Drain r0 while streams run on it: SIGTERM, the process must finish them and exit 0.
    Replica& r0 = replicas_[0];
    const int64_t served_before = completions_served(r0.port, r0.id);
    ASSERT_EQ(::kill(r0.pid, SIGTERM), 0);
    const int status = children_->wait_exit(r0.pid, 90);
    ASSERT_NE(status, -1) << "the drained replica did not exit";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
    const std::string drained_log = read_file(r0.log);
    const size_t drain_line = drained_log.find("draining");
    ASSERT_NE(drain_line, std::string::npos) << tail(drained_log);
    std::cerr << "[          ] r0: " << drained_log.substr(drain_line, drained_log.find('\n', drain_line) - drain_line)
              << "\n";
    EXPECT_EQ(drained_log.find("cutting"), std::string::npos) << "streams were cut short:\n" << tail(drained_log);

    // Load goes on with two replicas, then r0 comes back on the same port.
    const int at_restart = done;
    ASSERT_TRUE(wait_done(at_restart + 12, 60));
    ASSERT_TRUE(start_replica(r0));
    ASSERT_TRUE(wait_status(r0.port, "/health/ready", 200, 60)) << tail(read_file(r0.log));
    // nginx sends it requests again once its fail_timeout is over.
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    int64_t served_after = 0;
    while (Clock::now() < deadline && (served_after = completions_served(r0.port, r0.id)) < 3) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    stop = true;
    for (auto& t : load) t.join();
    load.clear();

    // nginx's log names every replica a request was tried on ("a, b" when it was passed on).
    int passed_on = 0;
    std::istringstream access(read_file(dir_ + "/access.log"));
    for (std::string line; std::getline(access, line);) passed_on += line.find(", ") != std::string::npos;
    std::cerr << "[          ] " << done << " streams; r0 served " << served_before << " before the drain, "
              << served_after << " after its restart; nginx passed " << passed_on
              << " request(s) on to another replica\n";
    EXPECT_GT(served_before, 0);
    EXPECT_GE(served_after, 3) << "the restarted replica got no traffic back";
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_TRUE(failures.empty()) << failures.size() << " failed request(s), first: " << failures.front();
}

}  // namespace
}  // namespace pagoda::server::test
