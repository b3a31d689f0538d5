// A tiny, strict command-line parser: every command declares its flags, unknown flags
// and missing values are usage errors that name the flag, and --help prints the table.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pagoda::cli {

class Args {
public:
    // usage: first line of --help, e.g. "pagoda generate --model PATH --prompt TEXT [options]"
    Args(std::string usage, std::string description);

    // A flag that takes a value ("--model PATH"); metavar names the value in --help.
    void option(const std::string& name, const std::string& metavar, const std::string& help,
                std::optional<std::string> default_value = std::nullopt);
    // A flag without a value ("--no-bos").
    void flag(const std::string& name, const std::string& help);
    // Positional arguments, in order ("PATH").
    void positional(const std::string& metavar, const std::string& help);

    // Parses argv (argv[0] is the command name). On --help prints help to stdout and
    // returns false with exit_code 0; on a usage error prints it to stderr and returns
    // false with exit_code 2.
    bool parse(int argc, char** argv);
    int exit_code() const { return exit_code_; }

    bool has(const std::string& name) const;
    std::string get(const std::string& name) const;  // value or default ("" if neither)
    // Every value a repeatable option was given, in order (get() returns the last one).
    std::vector<std::string> get_all(const std::string& name) const;
    // Typed getters report a bad number as a usage error through ok = false.
    long long get_int(const std::string& name, bool& ok) const;
    double get_double(const std::string& name, bool& ok) const;
    const std::vector<std::string>& positionals() const { return positional_values_; }

    std::string help() const;

private:
    struct Option {
        std::string metavar, help;
        std::optional<std::string> default_value;
        bool takes_value = true;
    };
    std::string usage_, description_;
    std::map<std::string, Option> options_;
    std::vector<std::string> option_order_;
    std::vector<std::pair<std::string, std::string>> positional_specs_;
    std::map<std::string, std::string> values_;
    std::map<std::string, std::vector<std::string>> all_values_;
    std::vector<std::string> positional_values_;
    int exit_code_ = 0;
};

}  // namespace pagoda::cli
