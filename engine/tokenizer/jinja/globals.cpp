// Global names every template sees (true/false/none, namespace, range, dict,
// raise_exception, strftime_now) and macro parameter binding.
#include <algorithm>
#include <cmath>
#include <ctime>

#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/value_convert.h"

namespace pagoda::jinja {

namespace {

Value make_function(std::string name, std::function<Value(CallArgs&, CallSite&)> body) {
    auto fn = std::make_shared<Function>();
    fn->name = std::move(name);
    fn->call = std::move(body);
    return Value::function(std::move(fn));
}

Value namespace_fn(CallArgs& args, CallSite& site) {
    if (args.positional.size() > 1) fail(site.offset, "namespace() takes at most one positional argument");
    auto obj = std::make_shared<Object>();
    if (!args.positional.empty()) {
        const Value& src = args.positional[0];
        if (src.is_object()) {
            for (const auto& [k, v] : src.obj().items()) obj->set(k, v);
        } else if (src.is_array()) {
            for (const Value& pair : src.arr()) {
                if (!pair.is_array() || pair.arr().size() != 2 || !pair.arr()[0].is_string()) {
                    fail(site.offset, "namespace() expects a dict or a list of [key, value] pairs");
                }
                obj->set(pair.arr()[0].str(), pair.arr()[1]);
            }
        } else {
            fail(site.offset, std::string("namespace() cannot be made from a ") + value_kind_name(src.kind()));
        }
    }
    for (const auto& [k, v] : args.keyword) obj->set(k, v);
    site.interp.charge(obj->size());
    Value ns = Value::ns(std::move(obj));
    site.interp.track_mutable(ns);
    return ns;
}

Value range_fn(CallArgs& args, CallSite& site) {
    const auto& p = args.positional;
    if (p.empty() || p.size() > 3 || !args.keyword.empty()) fail(site.offset, "range() takes 1 to 3 integers");
    for (const Value& v : p) {
        if (!v.is_int())
            fail(site.offset, std::string("range() arguments must be integers, not ") + value_kind_name(v.kind()));
    }
    const int64_t start = p.size() == 1 ? 0 : p[0].as_int();
    const int64_t stop = p.size() == 1 ? p[0].as_int() : p[1].as_int();
    const int64_t step = p.size() == 3 ? p[2].as_int() : 1;
    if (step == 0) fail(site.offset, "range() step must not be zero");
    // Count first (in floating point, which cannot overflow) so a huge range is refused
    // before anything is allocated.
    const double count = step > 0 ? (stop > start ? std::ceil((double(stop) - double(start)) / double(step)) : 0)
                                  : (stop < start ? std::ceil((double(start) - double(stop)) / -double(step)) : 0);
    if (count > static_cast<double>(site.interp.limits().max_loop_iterations)) {
        fail_limit(site.offset, "range() is longer than the loop iteration limit");
    }
    Array items;
    items.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) items.push_back(Value::integer(start + i * step));
    return site.interp.make_array(std::move(items));
}

Value raise_exception_fn(CallArgs& args, CallSite& site) {
    std::string message;
    if (!args.positional.empty()) {
        message = to_output_string(args.positional[0], site.interp.limits().max_output_bytes);
    }
    fail(site.offset, message);
}

constexpr const char* kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                   "July",    "August",   "September", "October", "November", "December"};
constexpr const char* kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

std::string two_digits(int n) {
    std::string s;
    if (n >= 0 && n < 10) s += '0';
    s += std::to_string(n);
    return s;
}

// Python's strftime for the common directives; unknown ones stay as written.
std::string format_time(const std::tm& t, const std::string& fmt) {
    std::string out;
    for (size_t i = 0; i < fmt.size(); ++i) {
        if (fmt[i] != '%' || i + 1 >= fmt.size()) {
            out += fmt[i];
            continue;
        }
        const char d = fmt[++i];
        const int month = t.tm_mon >= 0 && t.tm_mon < 12 ? t.tm_mon : 0;
        const int wday = t.tm_wday >= 0 && t.tm_wday < 7 ? t.tm_wday : 0;
        switch (d) {
            case 'Y': out += std::to_string(t.tm_year + 1900); break;
            case 'y': out += two_digits((t.tm_year + 1900) % 100); break;
            case 'm': out += two_digits(t.tm_mon + 1); break;
            case 'd': out += two_digits(t.tm_mday); break;
            case 'e':
                if (t.tm_mday < 10) out += ' ';
                out += std::to_string(t.tm_mday);
                break;
            case 'b': out += std::string(kMonths[month]).substr(0, 3); break;
            case 'B': out += kMonths[month]; break;
            case 'a': out += std::string(kDays[wday]).substr(0, 3); break;
            case 'A': out += kDays[wday]; break;
            case 'H': out += two_digits(t.tm_hour); break;
            case 'I': out += two_digits(t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12); break;
            case 'p': out += t.tm_hour < 12 ? "AM" : "PM"; break;
            case 'M': out += two_digits(t.tm_min); break;
            case 'S': out += two_digits(t.tm_sec); break;
            case 'j': {
                const int day = t.tm_yday + 1;
                if (day < 100) out += '0';
                if (day < 10) out += '0';
                out += std::to_string(day);
                break;
            }
            case '%': out += '%'; break;
            default: out += '%'; out += d;
        }
    }
    return out;
}

Value strftime_now_fn(CallArgs& args, CallSite& site) {
    if (args.positional.empty() || !args.positional[0].is_string()) {
        fail(site.offset, "strftime_now() takes a format string");
    }
    std::tm t{};
    if (site.interp.options().now) {
        t = *site.interp.options().now;
    } else {
        const std::time_t now = std::time(nullptr);
        localtime_r(&now, &t);
    }
    return site.interp.make_string(format_time(t, args.positional[0].str()));
}

Value dict_fn(CallArgs& args, CallSite& site) {
    if (!args.positional.empty()) fail(site.offset, "dict() takes keyword arguments only");
    auto obj = std::make_shared<Object>();
    for (const auto& [k, v] : args.keyword) obj->set(k, v);
    return Value::object(std::move(obj));
}

}  // namespace

void install_globals(Scope& globals) {
    globals.set("true", Value::boolean(true));
    globals.set("false", Value::boolean(false));
    globals.set("none", Value::none());
    globals.set("True", Value::boolean(true));
    globals.set("False", Value::boolean(false));
    globals.set("None", Value::none());
    globals.set("namespace", make_function("namespace", namespace_fn));
    globals.set("range", make_function("range", range_fn));
    globals.set("raise_exception", make_function("raise_exception", raise_exception_fn));
    globals.set("strftime_now", make_function("strftime_now", strftime_now_fn));
    globals.set("dict", make_function("dict", dict_fn));
}

void bind_parameters(Interpreter& in, const std::string& display_name, const std::vector<Parameter>& params,
                     bool uses_varargs, bool uses_kwargs, CallArgs& args, Scope& scope, uint32_t offset) {
    std::vector<std::pair<std::string, Value>> kwargs = args.keyword;
    std::vector<const Parameter*> pending_defaults;
    for (size_t i = 0; i < params.size(); ++i) {
        const Parameter& p = params[i];
        if (i < args.positional.size()) {
            scope.set(p.name, args.positional[i]);
            continue;
        }
        auto it = std::find_if(kwargs.begin(), kwargs.end(), [&](const auto& kv) { return kv.first == p.name; });
        if (it != kwargs.end()) {
            scope.set(p.name, std::move(it->second));
            kwargs.erase(it);
            continue;
        }
        if (p.default_value) pending_defaults.push_back(&p);
        scope.set(p.name, Value::undefined());
    }
    if (uses_kwargs) {
        auto obj = std::make_shared<Object>();
        for (auto& [k, v] : kwargs) obj->set(k, std::move(v));
        scope.set("kwargs", Value::object(std::move(obj)));
    } else if (!kwargs.empty()) {
        fail(offset, "macro " + display_name + " takes no keyword argument '" + kwargs.front().first + "'");
    }
    if (uses_varargs) {
        Array rest;
        for (size_t i = params.size(); i < args.positional.size(); ++i) rest.push_back(args.positional[i]);
        scope.set("varargs", in.make_array(std::move(rest)));
    } else if (args.positional.size() > params.size()) {
        fail(offset,
             "macro " + display_name + " takes not more than " + std::to_string(params.size()) + " argument(s)");
    }
    for (const Parameter* p : pending_defaults) scope.set(p->name, in.eval(*p->default_value, scope));
}

}  // namespace pagoda::jinja
