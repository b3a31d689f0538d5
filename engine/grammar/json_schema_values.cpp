// The grammar of the value kinds with structure: strings (lengths, formats), integers
// (bounds as digit ranges), objects (properties in order, optional ones skippable with
// commas right in every combination) and arrays (prefixItems, items, length bounds).
#include <algorithm>
#include <cmath>

#include "grammar/json_schema_converter.h"
#include "grammar/json_schema_rules.h"

namespace pagoda::grammar::json_schema_detail {

namespace {

// The integers allowed by one bound keyword: the smallest (lower) or largest (upper).
std::optional<__int128> integer_bound(const Json& v, bool lower, bool exclusive) {
    if (v.is_number_integer() || v.is_number_unsigned()) {
        __int128 x = v.is_number_unsigned() ? static_cast<__int128>(v.get<uint64_t>()) : v.get<int64_t>();
        return exclusive ? (lower ? x + 1 : x - 1) : x;
    }
    double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 1e20) {  // far beyond 19 digits: only its sign matters
        const __int128 far = static_cast<__int128>(1) << 100;
        return d > 0 ? far : -far;
    }
    double r = lower ? (exclusive ? std::floor(d) + 1 : std::ceil(d)) : (exclusive ? std::ceil(d) - 1 : std::floor(d));
    return static_cast<__int128>(r);
}

}  // namespace

Result<std::string> Converter::integer_expr(const Json& s, const std::string& ptr, const std::string& hint) {
    // The integer rule allows 19 digits; bounds beyond that are no bound.
    const __int128 cap = static_cast<__int128>(UINT64_C(9'999'999'999'999'999'999));
    std::optional<__int128> lo, hi;
    auto tighten = [&](const char* key, bool lower, bool exclusive) {
        auto it = s.find(key);
        if (it == s.end() || !it->is_number()) return;
        bool draft4_exclusive = false;
        if (!exclusive) {
            auto ex = s.find(lower ? "exclusiveMinimum" : "exclusiveMaximum");
            draft4_exclusive = ex != s.end() && ex->is_boolean() && ex->get<bool>();
        }
        auto b = integer_bound(*it, lower, exclusive || draft4_exclusive);
        if (!b) return;
        std::optional<__int128>& slot = lower ? lo : hi;
        if (!slot || (lower ? *b > *slot : *b < *slot)) slot = b;
    };
    tighten("minimum", true, false);
    tighten("exclusiveMinimum", true, true);
    tighten("maximum", false, false);
    tighten("exclusiveMaximum", false, true);
    if (lo && *lo < -cap) lo.reset();
    if (hi && *hi > cap) hi.reset();
    if ((lo && *lo > cap) || (hi && *hi < -cap) || (lo && hi && *lo > *hi))
        return refuse(ptr + (s.contains("minimum") ? "/minimum" : "/exclusiveMinimum"),
                      "no integer of at most 19 digits lies within the bounds");
    if (!lo && !hi) return use("integer");
    return add_rule(hint, integer_range_gbnf(lo, hi));
}

Result<std::string> Converter::string_expr(const Json& s, const std::string& ptr, const std::string& hint) {
    std::optional<uint64_t> lo, hi;
    lo = count_keyword(s, "minLength");
    hi = count_keyword(s, "maxLength");
    if (lo && hi && *lo > *hi) return refuse(ptr + "/minLength", "'minLength' is above 'maxLength'");
    const FormatRule* format = nullptr;
    if (s.contains("format")) format = find_format(s["format"].get_ref<const std::string&>());
    if (format) {
        if ((lo && *lo > format->min_chars) || (hi && *hi < format->max_chars))
            return refuse(ptr + (lo && *lo > format->min_chars ? "/minLength" : "/maxLength"),
                          "length bounds together with format '" + std::string(format->format) + "' are not supported");
        return use(format->rule);
    }
    if ((!lo || *lo == 0) && !hi) return use("string");
    PAGODA_RETURN_IF_ERROR(charge_repeat(ptr + "/minLength", lo, ptr + "/maxLength", hi));
    if (hi && *hi == 0) return add_rule(hint, "\"\\\"\\\"\"");
    use("char");
    return add_rule(hint, "\"\\\"\" char" + repetition(lo.value_or(0), hi) + " \"\\\"\"");
}

Result<std::string> Converter::object_expr(const Json& s, const std::string& ptr, int depth, const std::string& hint) {
    use("ws");
    static const Json kTrue = true;
    const Json* additional = s.contains("additionalProperties") ? &s["additionalProperties"] : &kTrue;
    bool additional_false = additional->is_boolean() && !additional->get<bool>();
    std::string additional_ptr = ptr + "/additionalProperties";
    std::optional<uint64_t> min_props, max_props;
    min_props = count_keyword(s, "minProperties");
    max_props = count_keyword(s, "maxProperties");
    if (min_props && max_props && *min_props > *max_props)
        return refuse(ptr + "/minProperties", "'minProperties' is above 'maxProperties'");

    struct Property {
        std::string name;
        const Json* schema;
        std::string ptr;
        bool required;
    };
    std::vector<Property> props;
    if (s.contains("properties"))
        for (const auto& [name, schema] : s["properties"].items())
            props.push_back({name, &schema, ptr + "/properties/" + escape_pointer_token(name), false});
    if (s.contains("required")) {
        const Json& required = s["required"];
        for (size_t i = 0; i < required.size(); ++i) {
            const std::string& name = required[i].get_ref<const std::string&>();
            auto it = std::find_if(props.begin(), props.end(), [&](const Property& p) { return p.name == name; });
            if (it != props.end()) {
                it->required = true;
                continue;
            }
            if (additional_false)
                return refuse(
                    ptr + "/required/" + std::to_string(i),
                    "required property '" + name + "' is not in 'properties' and additionalProperties is false");
            props.push_back({name, additional, additional_ptr, true});
        }
    }

    if (props.empty()) {
        // A map: any keys (JSON strings) with values of the additionalProperties schema.
        uint64_t lo = min_props.value_or(0);
        if (additional_false || (max_props && *max_props == 0)) {
            if (lo > 0)
                return refuse(ptr + "/minProperties", "no property is allowed, so 'minProperties' cannot be met");
            return add_rule(hint, R"("{" ws "}")");
        }
        JS_TRY(value, convert(*additional, additional_ptr, depth + 1, hint + "-value"));
        if (value.text == "value" && lo == 0 && !max_props) return use("object");
        PAGODA_RETURN_IF_ERROR(charge_repeat(ptr + "/minProperties", lo, ptr + "/maxProperties", max_props));
        use("string");
        JS_TRY(member, add_rule(hint + "-member", R"(string ws ":" ws )" + value.text + " ws"));
        std::optional<uint64_t> more;
        if (max_props) more = *max_props - 1;
        std::string rest =
            (more && *more == 0) ? "" : " ( \",\" ws " + member + " )" + repetition(lo > 0 ? lo - 1 : 0, more);
        std::string members = member + rest;
        return add_rule(hint, "\"{\" ws " + (lo == 0 ? opt(members) : members) + " \"}\"");
    }

    // Declared properties only, in schema order. A property whose schema is false cannot
    // appear: dropped when optional, unsatisfiable when required.
    std::vector<Property> kept;
    for (auto& p : props) {
        if (p.schema->is_boolean() && !p.schema->get<bool>()) {
            if (p.required) return refuse(p.ptr, "required property '" + p.name + "' has schema false");
            continue;
        }
        kept.push_back(std::move(p));
    }
    size_t n = kept.size();
    size_t n_required = std::count_if(kept.begin(), kept.end(), [](const Property& p) { return p.required; });
    if (min_props && *min_props > n_required)
        return refuse(ptr + "/minProperties",
                      "'minProperties' above the number of required properties is not supported");
    if (max_props && *max_props < n)
        return refuse(ptr + "/maxProperties",
                      "'maxProperties' below the number of declared properties is not supported");
    if (n == 0) return add_rule(hint, R"("{" ws "}")");

    std::vector<std::string> kv(n);
    for (size_t i = 0; i < n; ++i) {
        JS_TRY(value, convert(*kept[i].schema, kept[i].ptr, depth + 1, kept[i].name));
        kv[i] = gbnf_literal(compact_json(Json(kept[i].name))) + R"( ws ":" ws )" + value.text + " ws";
    }
    // first = the first required index of the all-required tail [first, n).
    size_t first = n;
    while (first > 0 && kept[first - 1].required) --first;
    // opt_from[i]: every property in [i, n) is optional (the rest may be empty).
    std::vector<bool> opt_from(n + 1, true);
    for (size_t i = n; i-- > 0;) opt_from[i] = opt_from[i + 1] && !kept[i].required;

    // R'(i): what follows once something was emitted, starting at property i, non-empty.
    // F'(i): the first emitted property at or after i, and all after it, non-empty.
    std::string tail;  // ", kv" for every property after `first`
    for (size_t i = first + 1; i < n; ++i) tail += R"( "," ws )" + kv[i];
    std::vector<std::string> rp(n + 1);
    if (first < n && first >= 1) {
        JS_TRY(name, add_rule(hint + "-rest", R"("," ws )" + kv[first] + tail));
        rp[first] = name;
    }
    auto rest_from = [&](size_t i) -> std::string {  // R(i) as text to put in a sequence
        if (i >= n) return "";
        std::string r = " ";
        r += opt_from[i] ? opt(rp[i]) : rp[i];
        return r;
    };
    for (size_t i = std::min(first, n); i-- > 1;) {
        std::string body = R"("," ws )" + kv[i] + rest_from(i + 1);
        if (!kept[i].required && i + 1 < n) body += " | " + rp[i + 1];
        JS_TRY(name, add_rule(hint + "-rest", body));
        rp[i] = name;
    }
    // F'(i) is needed for 0 and after each optional property that may be skipped.
    size_t last_f = 0;
    while (last_f < first && !kept[last_f].required && last_f + 1 < n) ++last_f;
    std::string fp;  // F'(last_f), then F'(i) going down to 0
    if (last_f == first)
        fp = kv[first] + tail;
    else
        fp = kv[last_f] + rest_from(last_f + 1);
    for (size_t i = last_f; i-- > 0;) {
        JS_TRY(name, add_rule(hint + "-first", kv[i] + rest_from(i + 1) + " | " + fp));
        fp = name;
    }
    return add_rule(hint, R"("{" ws )" + (opt_from[0] ? opt(fp) : fp) + R"( "}")");
}

Result<std::string> Converter::array_expr(const Json& s, const std::string& ptr, int depth, const std::string& hint) {
    use("ws");
    static const Json kTrue = true;
    std::vector<std::pair<const Json*, std::string>> prefix;
    const Json* item = &kTrue;
    std::string item_ptr = ptr + "/items";
    if (s.contains("prefixItems")) {
        const Json& p = s["prefixItems"];
        for (size_t i = 0; i < p.size(); ++i) prefix.emplace_back(&p[i], ptr + "/prefixItems/" + std::to_string(i));
        if (s.contains("items")) item = &s["items"];
    } else if (s.contains("items") && s["items"].is_array()) {
        const Json& p = s["items"];
        for (size_t i = 0; i < p.size(); ++i) prefix.emplace_back(&p[i], ptr + "/items/" + std::to_string(i));
        item_ptr = ptr + "/additionalItems";
        if (s.contains("additionalItems")) item = &s["additionalItems"];
    } else if (s.contains("items")) {
        item = &s["items"];
    }
    std::optional<uint64_t> lo_opt, hi;
    lo_opt = count_keyword(s, "minItems");
    hi = count_keyword(s, "maxItems");
    uint64_t lo = lo_opt.value_or(0);
    // A false schema at a position caps the length before it.
    for (size_t i = 0; i < prefix.size(); ++i)
        if (prefix[i].first->is_boolean() && !prefix[i].first->get<bool>()) {
            hi = std::min<uint64_t>(hi.value_or(i), i);
            break;
        }
    if (item->is_boolean() && !item->get<bool>()) hi = std::min<uint64_t>(hi.value_or(prefix.size()), prefix.size());
    if (hi && *hi < prefix.size()) prefix.resize(*hi);
    if (hi && lo > *hi) return refuse(ptr + "/minItems", "'minItems' is above the number of items allowed");
    PAGODA_RETURN_IF_ERROR(charge_repeat(ptr + "/minItems", lo_opt, ptr + "/maxItems", count_keyword(s, "maxItems")));

    size_t k = prefix.size();
    std::vector<std::string> e(k);
    for (size_t i = 0; i < k; ++i) {
        JS_TRY(x, convert(*prefix[i].first, prefix[i].second, depth + 1, hint + "-" + std::to_string(i)));
        e[i] = x.text;
    }
    bool has_tail = !hi || *hi > k;
    std::string itm;
    if (has_tail) {
        JS_TRY(x, convert(*item, item_ptr, depth + 1, hint + "-item"));
        itm = x.text;
    }
    if (k == 0) {
        if (!has_tail) return add_rule(hint, R"("[" ws "]")");
        if (itm == "value" && lo == 0 && !hi) return use("array");
        std::optional<uint64_t> more;
        if (hi) more = *hi - 1;
        std::string items = itm + " ws";
        if (!more || *more > 0) items += R"( ( "," ws )" + itm + " ws )" + repetition(lo > 0 ? lo - 1 : 0, more);
        return add_rule(hint, R"("[" ws )" + (lo == 0 ? opt(items) : items) + R"( "]")");
    }
    // Items after the prefix, each after a comma.
    std::string tail;
    if (has_tail) {
        std::optional<uint64_t> more;
        if (hi) more = *hi - k;
        tail = R"(( "," ws )" + itm + " ws )" + repetition(lo > k ? lo - k : 0, more);
    }
    // O(i): prefix items i.. once i-1 items were emitted and item i is optional.
    size_t required = std::min<uint64_t>(std::max<uint64_t>(lo, 1), k);  // items 0..required-1 always there
    std::string next = tail;                                             // what follows item k-1
    for (size_t i = k; i-- > required;) {
        std::string body = R"("," ws )" + e[i] + " ws" + (next.empty() ? "" : " " + next);
        JS_TRY(name, add_rule(hint + "-rest", body));
        next = opt(name);
    }
    std::string items = e[0] + " ws";
    for (size_t i = 1; i < required; ++i) items += R"( "," ws )" + e[i] + " ws";
    if (!next.empty()) items += " " + next;
    return add_rule(hint, R"("[" ws )" + (lo == 0 ? opt(items) : items) + R"( "]")");
}

}  // namespace pagoda::grammar::json_schema_detail
