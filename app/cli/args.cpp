#include "args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

namespace pagoda::cli {

Args::Args(std::string usage, std::string description)
    : usage_(std::move(usage)), description_(std::move(description)) {}

void Args::option(const std::string& name, const std::string& metavar, const std::string& help,
                  std::optional<std::string> default_value) {
    options_[name] = Option{metavar, help, std::move(default_value), true};
    option_order_.push_back(name);
}

void Args::flag(const std::string& name, const std::string& help) {
    options_[name] = Option{"", help, std::nullopt, false};
    option_order_.push_back(name);
}

void Args::positional(const std::string& metavar, const std::string& help) {
    positional_specs_.emplace_back(metavar, help);
}

bool Args::parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(help().c_str(), stdout);
            exit_code_ = 0;
            return false;
        }
        if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
            std::string value;
            bool inline_value = false;
            if (auto eq = arg.find('='); eq != std::string::npos) {
                value = arg.substr(eq + 1);
                arg = arg.substr(0, eq);
                inline_value = true;
            }
            auto it = options_.find(arg);
            if (it == options_.end()) {
                std::fprintf(stderr, "error: unknown option '%s'\n\n%s", arg.c_str(), help().c_str());
                exit_code_ = 2;
                return false;
            }
            if (!it->second.takes_value) {
                if (inline_value) {
                    std::fprintf(stderr, "error: option '%s' takes no value\n", arg.c_str());
                    exit_code_ = 2;
                    return false;
                }
                values_[arg].assign(1, '1');  // not = "1": GCC 12 warns falsely (-Wrestrict)
                continue;
            }
            if (!inline_value) {
                if (i + 1 >= argc) {
                    std::fprintf(stderr, "error: option '%s' needs a value (%s)\n", arg.c_str(),
                                 it->second.metavar.c_str());
                    exit_code_ = 2;
                    return false;
                }
                value.assign(std::string_view(argv[++i]));
            }
            values_[arg] = value;
            all_values_[arg].push_back(value);
            continue;
        }
        positional_values_.push_back(arg);
    }
    if (positional_values_.size() > positional_specs_.size()) {
        std::fprintf(stderr, "error: unexpected argument '%s'\n\n%s",
                     positional_values_[positional_specs_.size()].c_str(), help().c_str());
        exit_code_ = 2;
        return false;
    }
    return true;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::vector<std::string> Args::get_all(const std::string& name) const {
    if (auto it = all_values_.find(name); it != all_values_.end()) return it->second;
    return {};
}

std::string Args::get(const std::string& name) const {
    if (auto it = values_.find(name); it != values_.end()) return it->second;
    if (auto it = options_.find(name); it != options_.end() && it->second.default_value) return *it->second.default_value;
    return "";
}

long long Args::get_int(const std::string& name, bool& ok) const {
    const std::string s = get(name);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno != 0) {
        std::fprintf(stderr, "error: %s expects an integer, got '%s'\n", name.c_str(), s.c_str());
        ok = false;
    }
    return v;
}

double Args::get_double(const std::string& name, bool& ok) const {
    const std::string s = get(name);
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') {
        std::fprintf(stderr, "error: %s expects a number, got '%s'\n", name.c_str(), s.c_str());
        ok = false;
    }
    return v;
}

std::string Args::help() const {
    std::ostringstream out;
    out << "usage: " << usage_ << "\n\n" << description_ << "\n";
    if (!positional_specs_.empty()) {
        out << "\narguments:\n";
        for (const auto& [metavar, help] : positional_specs_) out << "  " << metavar << "\n      " << help << "\n";
    }
    out << "\noptions:\n";
    for (const auto& name : option_order_) {
        const Option& o = options_.at(name);
        out << "  " << name;
        if (o.takes_value) out << " " << o.metavar;
        out << "\n      " << o.help;
        if (o.default_value) out << " (default: " << *o.default_value << ")";
        out << "\n";
    }
    out << "  --help\n      show this help\n";
    return out.str();
}

}  // namespace pagoda::cli
