// Templates are untrusted: whatever they do, a render ends quickly with output or an
// error, never a hang, a crash or a giant allocation; and they can reach only data.
#include <gtest/gtest.h>

#include "jinja_test_util.h"

namespace pagoda::jinja {
namespace {

using nlohmann::ordered_json;
using testing::r;
using testing::render;

Status render_status(const std::string& source, const Limits& limits = {}) {
    RenderOptions options;
    options.limits = limits;
    auto out = render(source, ordered_json::object(), options);
    return out.status();
}

TEST(JinjaLimits, UnboundedRecursionStops) {
    const Status s = render_status("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
    EXPECT_NE(s.message().find("macro calls nest too deeply"), std::string::npos) << s.message();
    EXPECT_EQ(s.message().rfind("line 1, column ", 0), 0u) << s.message();
}

TEST(JinjaLimits, MutualRecursionThroughCallerStops) {
    const Status s = render_status("{% macro a() %}{% call a() %}x{% endcall %}{% endmacro %}{{ a() }}");
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
}

TEST(JinjaLimits, LoopIterationsAreBounded) {
    Limits limits;
    limits.max_loop_iterations = 10'000;
    // Each loop is small; together they run a million times.
    const Status s = render_status(
        "{% for a in range(100) %}{% for b in range(100) %}{% for c in range(100) %}{% endfor %}{% endfor %}{% endfor "
        "%}",
        limits);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
    EXPECT_NE(s.message().find("loop iteration limit"), std::string::npos) << s.message();
}

TEST(JinjaLimits, HugeRangeIsRefusedBeforeAllocating) {
    const Status s = render_status("{{ range(9000000000000000000)|length }}");
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
    EXPECT_EQ(s.message(), "line 1, column 4: range() is longer than the loop iteration limit");
}

TEST(JinjaLimits, ExplodingStringsStop) {
    Limits limits;
    limits.max_output_bytes = 1 << 20;
    const Status s = render_status(
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ "
        "ns.s|length }}",
        limits);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
    EXPECT_NE(s.message().find("output size limit"), std::string::npos) << s.message();
}

TEST(JinjaLimits, OutputSizeIsBounded) {
    Limits limits;
    limits.max_output_bytes = 4096;
    const Status s = render_status("{% for i in range(100000) %}0123456789{% endfor %}", limits);
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("rendered text exceeds the output size limit"), std::string::npos) << s.message();
}

TEST(JinjaLimits, SharedListsCannotExplodeWhenPrinted) {
    // Each level holds the previous one twice: printing it would be 2^40 elements.
    Limits limits;
    limits.max_output_bytes = 1 << 20;
    const Status s = render_status(
        "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ "
        "ns.l|tojson }}",
        limits);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
}

TEST(JinjaLimits, WorkBudgetStopsLongRenders) {
    Limits limits;
    limits.max_steps = 100'000;
    const Status s = render_status("{% for i in range(1000000) %}{{ i }}{% endfor %}", limits);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
}

TEST(JinjaLimits, DeepNestingIsASyntaxLimitNotACrash) {
    std::string deep(5000, '(');
    deep = "{{ " + deep + "1" + std::string(5000, ')') + " }}";
    const Status s = render_status(deep);
    ASSERT_FALSE(s.is_ok());
    EXPECT_EQ(s.code(), ErrorCode::out_of_memory);
    EXPECT_NE(s.message().find("nests too deeply"), std::string::npos);

    std::string blocks;
    for (int i = 0; i < 2000; ++i) blocks += "{% if true %}";
    const Status s2 = render_status(blocks);
    ASSERT_FALSE(s2.is_ok());
    EXPECT_NE(s2.message().find("nests too deeply"), std::string::npos);

    EXPECT_FALSE(render_status("{{ " + std::string(100000, '-') + "1 }}").is_ok());
    EXPECT_FALSE(render_status("{{ " + std::string(100000, '[') + " }}").is_ok());
}

TEST(JinjaLimits, CyclicNamespacesAreFine) {
    // A namespace that contains itself: printing stops at the depth limit, and the cycle
    // is broken when the render ends (no leak under ASan).
    const Status s = render_status("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}");
    ASSERT_FALSE(s.is_ok());
    EXPECT_NE(s.message().find("nested too deeply"), std::string::npos) << s.message();
    EXPECT_EQ(r("{% set l = [] %}{% set _ = l.append(l) %}{{ l|length }}"), "1");
}

TEST(JinjaLimits, TemplateSizeIsBounded) {
    Limits limits;
    limits.max_template_bytes = 100;
    auto tpl = Template::parse(std::string(101, 'x'), limits);
    ASSERT_FALSE(tpl.is_ok());
    EXPECT_EQ(tpl.status().code(), ErrorCode::out_of_memory);
}

TEST(JinjaSandbox, OnlyDataIsReachable) {
    // Python's escape hatches do not exist here: these are plain undefined lookups.
    EXPECT_EQ(r("{{ ''.__class__ is defined }} {{ range.__globals__ is defined }} {{ messages.__len__ is defined }}",
                {{"messages", ordered_json::array()}}),
              "false false false");
    EXPECT_EQ(
        r("{{ namespace.__init__ is defined }} {{ cycler is defined }} {{ lipsum is defined }} {{ self is defined }}"),
        "false false false false");
    EXPECT_EQ(r("{{ ''.__class__.__mro__[1] }}"), "ERROR: line 1, column 24: cannot index a value of type undefined");
    // Statements that would load other templates or run code are not part of the language.
    EXPECT_EQ(r("{% include 'x.j2' %}"), "ERROR: line 1, column 1: unknown statement 'include'");
    EXPECT_EQ(r("{% import 'os' as os %}"), "ERROR: line 1, column 1: unknown statement 'import'");
}

TEST(JinjaLimits, RenderIsRepeatableAndIndependent) {
    auto tpl = Template::parse(
        "{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}");
    ASSERT_TRUE(tpl.is_ok());
    Object vars;
    auto xs = std::make_shared<Array>(Array{Value::integer(1), Value::integer(2)});
    vars.set("xs", Value::array(xs));
    EXPECT_EQ(tpl->render(vars).value(), "3");
    EXPECT_EQ(tpl->render(vars).value(), "3");
    EXPECT_EQ(xs->size(), 2u);
}

}  // namespace
}  // namespace pagoda::jinja
