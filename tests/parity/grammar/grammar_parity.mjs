// Grammar-constrained greedy decoding: Pagoda against llama.cpp (node-llama-cpp, CPU build)
// on the same GGUF, the same prompt ids and the same GBNF text. For each grammar:
//   1. the greedy tokens must be identical (`pagoda generate --temp 0 --ids --prompt-ids ..
//      --grammar-file F` vs llama.cpp's grammar sampler at temperature 0), including where
//      generation ends: an end-of-generation token when the grammar is complete (llama.cpp
//      allows its EOG tokens only then, and only them when nothing else can follow), or
//      the -n limit. A divergence is classified with llama.cpp's own view of that step (is
//      Pagoda's token allowed by llama.cpp's grammar? the two tokens' unconstrained
//      log-probabilities): only a near-tie (within the logit tolerance) is forgiven;
//   2. llama.cpp's grammar accepts Pagoda's whole output token by token (and its EOG at
//      the end when Pagoda stopped);
//   3. the text itself: JSON.parse (+ ajv against the schema) when a JSON grammar ended,
//      a regular expression for the small grammars.
// Grammars: llama.cpp's own grammars/*.gbnf (shipped in node-llama-cpp), a few written here
// (enum, emoji / unicode classes, repetitions, `.`), and the GBNF node-llama-cpp's JSON
// schema converter writes (llama.createGrammarForJsonSchema(schema).grammar), so Pagoda's
// grammar engine runs on a converter no one here wrote. Pagoda's own converter's GBNF
// (--schema-gbnf: pagoda-schema-gbnf, and json_object's) then goes through both engines the
// same way, and `generate --json-schema-file` must pick the same tokens as that GBNF; all
// JSON outputs must validate (ajv, draft 2020-12).
// Known, intended differences are reported, not failed: llama.cpp's grammar matches a
// control token by its special text (Pagoda never lets a control token through a grammar),
// llama.cpp lets invalid UTF-8 through negated classes (Pagoda emits valid UTF-8 only), and
// the GBNF syntax table (SYNTAX_CASES) where the two parsers accept different sets.
//
// usage: node grammar_parity.mjs --pagoda BIN --work-dir DIR
//          (--model GGUF | --make-model BIN --tokenizer-json tokenizer.json)
//          [--schema-gbnf BIN] [--name NAME] [--threads N] [--case SUBSTRING] [--prompt TEXT] [--llama-only]
// --prompt replaces every case's prompt (to explore other paths through the grammars).
// --model: a GGUF with its own vocabulary (stories260K); --make-model: a random-weight
// Qwen 3-shaped model given the real Qwen 3 tokenizer (big_vocab_model.mjs).
// Exit: 0 all passed, 1 a check failed, 77 peers or data missing (ctest SKIP).
import fs from "node:fs";
import path from "node:path";
import {spawnSync} from "node:child_process";

import {importPeer, peersDir} from "../llama/load_peer.mjs";
import {parseFlags, parseIds} from "../llama/parity_util.mjs";
import {writeBigVocabModel} from "./big_vocab_model.mjs";

const SKIP = 77;

function parseArgs(argv) {
    const o = parseFlags(argv, {
        "--pagoda": "string",
        "--model": "string",
        "--make-model": "string",
        "--tokenizer-json": "string",
        "--schema-gbnf": "string",
        "--work-dir": "string",
        "--name": "string",
        "--threads": "number",
        "--case": "string",
        "--prompt": "string",
        "--llama-only": "boolean",
    }, {threads: 1, llamaOnly: false});
    if (!o.pagoda && !o.llamaOnly) throw new Error("--pagoda is required");
    if (!o.workDir) throw new Error("--work-dir is required");
    if (!o.model && !(o.makeModel && o.tokenizerJson)) throw new Error("--model or --make-model + --tokenizer-json");
    return o;
}

function skip(why) {
    console.log(`SKIP: ${why}`);
    process.exit(SKIP);
}

const opts = parseArgs(process.argv.slice(2));
fs.mkdirSync(opts.workDir, {recursive: true});

let llamaCpp, Ajv;
try {
    llamaCpp = await importPeer("node-llama-cpp");
    // Draft 2020-12 (prefixItems), as OpenAI's structured outputs and the converters read schemas.
    const ajvModule = await importPeer("ajv/dist/2020.js");
    Ajv = ajvModule.default?.default ?? ajvModule.default ?? ajvModule;
} catch (e) {
    skip(`a peer is missing in ${peersDir()} (npm ci): ${e.message}`);
}
const {getLlama, LlamaLogLevel, LlamaGrammarEvaluationState, TokenBias} = llamaCpp;

let modelPath = opts.model;
let name = opts.name;
if (modelPath) {
    if (!fs.existsSync(modelPath)) skip(`${modelPath} not found (../shared is not available)`);
    name ??= path.basename(modelPath, ".gguf");
} else {
    if (!fs.existsSync(opts.tokenizerJson)) skip(`${opts.tokenizerJson} not found (npm ci in tests/peers)`);
    name ??= "qwen3-vocab";
    modelPath = path.join(opts.workDir, `${name}.gguf`);
    writeBigVocabModel({makeModel: opts.makeModel, tokenizerJson: opts.tokenizerJson, out: modelPath});
}

// --- cases -------------------------------------------------------------------------------
const llamaGrammarDir = path.join(peersDir(), "node_modules", "node-llama-cpp", "llama", "grammars");
const readLlamaGrammar = (file) => fs.readFileSync(path.join(llamaGrammarDir, `${file}.gbnf`), "utf8");

// Checks on the generated text: `ended` is true when generation stopped at an EOG token.
// They return an error message or null.
const parsesAs = (kind) => (text, ended) => {
    if (!ended) return null;
    try {
        const v = JSON.parse(text);
        const got = Array.isArray(v) ? "array" : typeof v;
        return got === kind ? null : `parsed as ${got}, not ${kind}`;
    } catch (e) {
        return `ended but JSON.parse fails: ${e.message}`;
    }
};
// A regular expression for the whole text when it ended, for a prefix of it otherwise
// (`prefix`: the same language with every part made optional enough to match a prefix).
const matches = (whole, prefix = null) => (text, ended) => {
    if (ended) return whole.test(text) ? null : `ended text does not match ${whole}`;
    if (!prefix) return null;
    const body = text.replace(/\uFFFD+$/u, "");  // a character cut by the token limit
    return prefix.test(body) ? null : `text so far does not match ${prefix}`;
};

const GBNF_CASES = [
    // llama.cpp's own example grammars, as node-llama-cpp ships them.
    {id: "llama.json", gbnf: () => readLlamaGrammar("json"), prompt: "The data is", n: 64, check: parsesAs("object")},
    {id: "llama.json_arr", gbnf: () => readLlamaGrammar("json_arr"), prompt: "A list:", n: 64, check: parsesAs("array")},
    {id: "llama.list", gbnf: () => readLlamaGrammar("list"), prompt: "Things to buy:", n: 48,
     check: matches(/^(- [^\r\n]+\n)+$/u, /^(- [^\r\n]+\n)*(- [^\r\n]*|-)?$/u)},
    {id: "llama.arithmetic", gbnf: () => readLlamaGrammar("arithmetic"), prompt: "Once upon a time", n: 48,
     check: matches(/^([^=\n]+=[ \t\n]*[^\n]+\n)+$/u)},
    {id: "llama.japanese", gbnf: () => readLlamaGrammar("japanese"), prompt: "Lily said", n: 32,
     check: matches(/^[\u3041-\u309F\u30A1-\u30FF\u3001-\u303E\u4E00-\u9FFF \t\n]+$/u,
                    /^[\u3041-\u309F\u30A1-\u30FF\u3001-\u303E\u4E00-\u9FFF \t\n]*$/u)},
    {id: "llama.english", gbnf: () => readLlamaGrammar("english"), prompt: "Once upon a time", n: 48,
     check: matches(/^[\x21-\x7E]+([ \t\n][\x21-\x7E]+)*$/u, /^[\x21-\x7E \t\n]*$/u)},
    {id: "llama.chess", gbnf: () => readLlamaGrammar("chess"), prompt: "The game went", n: 48,
     check: matches(/^1\. /u, /^(1(\. ?)?)?/u)},
    {id: "llama.c", gbnf: () => readLlamaGrammar("c"), prompt: "int main", n: 48, check: () => null},
    // Written here for features the examples above do not reach.
    {id: "enum", gbnf: () => 'root ::= "yes" | "no"\n', prompt: "Is the sky blue?", n: 8,
     check: (text, ended) => (ended && (text === "yes" || text === "no") ? null : `expected yes|no, ended=${ended}`)},
    {id: "enum_words", gbnf: () => 'root ::= ("the" | "then" | "there" | "cat" | "cattle") (" " ("the" | "then" | "there" | "cat" | "cattle")){0,5} "."\n',
     prompt: "Once upon a time", n: 24, check: matches(/^(the|then|there|cat|cattle)( (the|then|there|cat|cattle)){0,5}\.$/u)},
    {id: "emoji", gbnf: () => 'root ::= "Mood: " [😀-🙏] [\\U0001F300-\\U0001F5FF]? " " ("ok" | "meh") "\\n"\n',
     prompt: "Lily felt", n: 24, check: matches(/^Mood: [\u{1F600}-\u{1F64F}][\u{1F300}-\u{1F5FF}]? (ok|meh)\n$/u)},
    {id: "unicode_classes", gbnf: () => [
        "# escapes, ranges beyond ASCII, negation, and any character",
        'root  ::= "caf\\u00e9 " accent{1,3} " " other{2,5} " " .{1,4} "\\x21\\n"',
        "accent ::= [\\u00e0-\\u00ff]",
        "other  ::= [^a-z\\n\\x00-\\x1f]",
        ""].join("\n"),
     prompt: "She ordered", n: 32,
     check: matches(/^café [\u00e0-\u00ff]{1,3} [^a-z\n\x00-\x1f]{2,5} .{1,4}!\n$/su)},
    {id: "record", gbnf: () => [
        'root ::= "{\\"name\\": \\"" name "\\", \\"age\\": " age ", \\"tags\\": [" tags "]}"',
        "name ::= [A-Z] [a-z]{1,8}",
        "age  ::= [1-9] [0-9]?",
        "tags ::= tag (\",\" \" \"? tag){0,2}",
        'tag  ::= "\\"" [^"\\\\\\n]{1,12} "\\""',
        ""].join("\n"),
     prompt: "Lily is a little girl.", n: 64, check: parsesAs("object")},
    // Text that is also a special token's text (Qwen 3: <think> is user-defined, <|im_start|>
    // a control token): llama.cpp matches token pieces rendered with their special text.
    {id: "think_tags", gbnf: () => 'root ::= "<think>" [a-z ]{1,12} "</think>" [A-Za-z]{1,6}\n', prompt: "Let me think.", n: 24,
     check: matches(/^<think>[a-z ]{1,12}<\/think>[A-Za-z]{1,6}$/u)},
    {id: "special_text", gbnf: () => 'root ::= "<|im_start|>" [a-z]{1,4} "\\n"\n', prompt: "Hello", n: 24,
     check: matches(/^<\|im_start\|>[a-z]{1,4}\n$/u)},
    // The same with <|im_start|> pushed up (logit bias) on a vocabulary that has it as one
    // token: llama.cpp's grammar matches a control token by its text, so it picks it.
    {id: "special_token_biased", gbnf: () => 'root ::= "<|im_start|>" [a-z]{1,4} "\\n"\n', prompt: "Hello", n: 24,
     bias: () => specialToken("<|im_start|>", 30), check: matches(/^<\|im_start\|>[a-z]{1,4}\n$/u)},
    {id: "words", gbnf: () => 'root ::= "Hello" (" world" | " there" | ", " [A-Z] [a-z]{2,6}) ("!" | ".") "\\n"\n', prompt: "Say hi:", n: 24,
     check: matches(/^Hello( world| there|, [A-Z][a-z]{2,6})[!.]\n$/u)},
    {id: "emoji_run", gbnf: () => 'root ::= [\\U0001F600-\\U0001F64F\\u2600-\\u26FF]{3,6} "\\n"\n', prompt: "Feelings:", n: 32,
     check: matches(/^[\u{1F600}-\u{1F64F}\u2600-\u26FF]{3,6}\n$/u)},
    // Parser corners: empty alternatives, ambiguity (greet), escapes inside classes, a negated
    // class of escapes, exact and open repetitions, hyphenated and numbered rule names, comments
    // everywhere, rules split over lines.
    {id: "syntax_corners", gbnf: () => String.raw`# corners
root      ::= greet-1 sep? body{2} tail-2   # trailing comment
greet-1   ::= | "a" | "ab" | "abc"
sep       ::= [-_\]\\] | "\x2d"
body      ::= ( [^\x00-\x40\[\]\x7b-\U0010FFFF]   # letters and a few signs
              | "[" [0-9a-f]{1,2} "]" )
tail-2    ::= "." | "!"{2,} "\u0021"? |
`, prompt: "Once upon a time", n: 24,
     check: matches(/^(a|ab|abc)?([-_\]\\])?([A-Z\\^_`a-z]|\[[0-9a-f]{1,2}\]){2}(\.|!{2,}!?)?$/u)},
    {id: "numbers", gbnf: () => 'root ::= "[" num ("," num){2,4} "]"\nnum ::= "-"? [0-9]{1,3}\n', prompt: "Count:", n: 32,
     check: matches(/^\[-?[0-9]{1,3}(,-?[0-9]{1,3}){2,4}\]$/u)},
];

// Schemas for node-llama-cpp's converter (and then Pagoda's own). node-llama-cpp writes
// every property (it ignores `required`), so these list all of them as required except
// where Pagoda's run tests an optional one.
const PERSON = {
    type: "object",
    properties: {
        name: {type: "string", maxLength: 16},
        age: {type: "integer"},
        role: {enum: ["admin", "user", "guest"]},
        active: {type: "boolean"},
        tags: {type: "array", items: {type: "string", maxLength: 10}, maxItems: 3},
        address: {type: "object", properties: {city: {type: "string", maxLength: 12}, zip: {type: "string", minLength: 5, maxLength: 5}},
                  required: ["city", "zip"], additionalProperties: false},
        // No maxLength here: node-llama-cpp's converter drops it on a type list.
        nickname: {type: ["string", "null"]},
    },
    required: ["name", "age", "role", "active", "tags", "address", "nickname"],
    additionalProperties: false,
};
const SCHEMA_CASES = [
    {id: "schema.person", schema: PERSON, prompt: "Lily is a little girl.", n: 160},
    {id: "schema.formats", schema: {
        type: "object",
        properties: {when: {type: "string", format: "date"}, at: {type: "string", format: "time"},
                     counts: {type: "object", additionalProperties: {type: "integer"}}},
        required: ["when", "at", "counts"], additionalProperties: false}, prompt: "The party is", n: 96},
    {id: "schema.tree", schema: {
        $defs: {node: {type: "object", properties: {v: {type: "integer"}, kids: {type: "array", items: {$ref: "#/$defs/node"}, maxItems: 2}},
                       required: ["v", "kids"], additionalProperties: false}},
        $ref: "#/$defs/node"}, prompt: "A tree:", n: 96},
    {id: "schema.tuple", schema: {
        type: "array", prefixItems: [{const: "x"}, {type: "number"}], items: {oneOf: [{type: "null"}, {type: "boolean"}]},
        minItems: 2, maxItems: 4}, prompt: "Values:", n: 48},
];

// Does the grammar compile? llama.cpp's answer (`llama`, asserted, so a change in the peer is
// seen) and Pagoda's (`pagoda`). Where they differ, `why` says why that is intended; where both
// accept, the greedy tokens are compared as above (n 8).
const SYNTAX_CASES = [
    {id: "continued_after_bar", gbnf: 'root ::= "x" |\n  "y"\n', llama: true, pagoda: true},
    {id: "newline_in_group", gbnf: 'root ::= ( "x"\n | "y" )\n', llama: true, pagoda: true},
    {id: "comment_lines_in_group", gbnf: 'root ::= ( "a" # one\n # two\n | "b" )\n', llama: true, pagoda: true},
    {id: "blank_lines_unused_rule", gbnf: 'root ::= "a"\n\n\nfoo ::= "b"\n', llama: true, pagoda: true},
    {id: "crlf", gbnf: 'root ::= "a" b\r\nb ::= "c"\r\n', llama: true, pagoda: true},
    {id: "tabs", gbnf: 'root\t::=\t"a"\t"b"\n', llama: true, pagoda: true},
    {id: "no_spaces", gbnf: 'root::="a""b"\n', llama: true, pagoda: true},
    {id: "repeat_zero", gbnf: 'root ::= "a" [b-z]{0} "c"\n', llama: true, pagoda: true},
    {id: "nested_repeat", gbnf: 'root ::= ("a"{1,2}){2} "b"\n', llama: true, pagoda: true},
    {id: "empty_literal", gbnf: 'root ::= ""\n', llama: true, pagoda: true},
    {id: "empty_group", gbnf: 'root ::= "a" () "b"\n', llama: true, pagoda: true},
    {id: "dot_in_class", gbnf: 'root ::= [.] "x"\n', llama: true, pagoda: true},
    {id: "dash_last_in_class", gbnf: 'root ::= [a-] "x"\n', llama: true, pagoda: true},
    {id: "hex_escapes", gbnf: 'root ::= "\\x4A\\u004b" [\\x41-\\x5A]\n', llama: true, pagoda: true},
    {id: "repeat_no_min", gbnf: 'root ::= "a"{,3} "b"\n', llama: false, pagoda: false},
    {id: "undefined_rule", gbnf: "root ::= missing\n", llama: false, pagoda: false},
    {id: "unknown_escape", gbnf: 'root ::= "\\q"\n', llama: false, pagoda: false},
    {id: "left_recursion", gbnf: 'root ::= root "a" | "a"\n', llama: false, pagoda: false},
    {id: "repeat_of_empty", gbnf: 'root ::= ("")* "a"\n', llama: false, pagoda: false},
    {id: "no_root", gbnf: 'foo ::= "a"\n', llama: false, pagoda: false},
    {id: "unterminated_class", gbnf: "root ::= [a-z\n", llama: false, pagoda: false},
    {id: "unterminated_literal", gbnf: 'root ::= "abc\n', llama: false, pagoda: false},
    {id: "token_text_no_vocab", gbnf: 'root ::= <s> "x"\n', llama: false, pagoda: false},
    // Differences. llama.cpp's parser continues an alternative after `|` onto the next line;
    // Pagoda also reads a trailing `|` before a new rule as an empty alternative.
    {id: "trailing_bar_before_rule", gbnf: 'root ::= g "z"\ng ::= "a" | "ab" |\nsep ::= "x"\n', llama: false, pagoda: true,
     why: "Pagoda reads a trailing | before the next rule as an empty alternative"},
    {id: "bar_first_on_next_line", gbnf: 'root ::= "a"\n  | "b"\n', llama: false, pagoda: true,
     why: "Pagoda continues a rule on a line that starts with |"},
    {id: "underscore_in_name", gbnf: 'my_rule ::= "a"\nroot ::= my_rule\n', llama: false, pagoda: true,
     why: "Pagoda allows _ in rule names"},
    {id: "repeat_over_2000", gbnf: 'root ::= "a"{2001}\n', llama: false, pagoda: true,
     why: "llama.cpp refuses some repetition counts over 2000, Pagoda bounds the expanded size (GrammarLimits)"},
    {id: "rule_defined_twice", gbnf: 'root ::= "a"\nroot ::= "b"\n', llama: true, pagoda: false,
     why: "llama.cpp keeps the last definition; Pagoda refuses the grammar"},
    {id: "reversed_range", gbnf: 'root ::= [z-a] | "q"\n', llama: true, pagoda: false,
     why: "llama.cpp's [z-a] matches nothing; Pagoda refuses it"},
    {id: "token_id_literal", gbnf: 'root ::= <[403]> "x"\n', llama: true, pagoda: false,
     why: "llama.cpp's token literals (<[id]>, <token>, !<...>) are not supported by Pagoda"},
];

// --- llama.cpp -----------------------------------------------------------------------------
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const isEog = (t) => model.isEogToken(t);
const grammarBinding = llama._bindings.AddonSampler;  // node-llama-cpp internals, diagnosis only

// {id: bias} for a text that is one special token of this vocabulary, else null (case skipped).
function specialToken(tokenText, bias) {
    const ids = Array.from(model.tokenize(tokenText, true));
    return ids.length === 1 ? {[ids[0]]: bias} : null;
}

function promptIds(text) {
    const ids = Array.from(model.tokenize(text, false));
    return model.tokens.bos != null && model.tokens.shouldPrependBosToken ? [model.tokens.bos, ...ids] : ids;
}

async function newContext() {
    return model.createContext({
        contextSize: 512, batchSize: 512, threads: {ideal: opts.threads, min: opts.threads}, sequences: 1,
        flashAttention: false,  // see llama_reference.mjs
    });
}

// Greedy tokens under the grammar, up to and including the first EOG, at most n.
async function llamaGreedy(grammar, prompt, n, bias) {
    const context = await newContext();
    try {
        const state = new LlamaGrammarEvaluationState({model, grammar});
        const tokenBias = bias ? TokenBias.for(model) : undefined;
        for (const [id, b] of Object.entries(bias ?? {})) tokenBias.set(Number(id), {logit: b});
        const out = [];
        for await (const token of context.getSequence().evaluate(prompt, {temperature: 0, grammarEvaluationState: state,
                                                                           yieldEogToken: true, tokenBias})) {
            out.push(token);
            if (isEog(token) || out.length >= n) break;
        }
        return out;
    } finally {
        await context.dispose();
    }
}

// llama.cpp's grammar state after `tokens`, or the index of the first token it rejects.
function llamaGrammarAfter(grammar, tokens) {
    const state = new LlamaGrammarEvaluationState({model, grammar});
    for (let i = 0; i < tokens.length; i++) {
        if (!grammarBinding.canBeNextTokenForGrammarEvaluationState(state._state, tokens[i])) return {state, rejected: i};
        if (!isEog(tokens[i])) grammarBinding.acceptGrammarEvaluationStateToken(state._state, tokens[i]);
    }
    return {state, rejected: -1};
}

// Unconstrained log-probabilities of the next token after `tokens` (one llama.cpp step).
async function llamaLogprobs(tokens) {
    const context = await newContext();
    try {
        const it = context.getSequence().evaluateWithMetadata(tokens, {probabilities: true}, {temperature: 0, yieldEogToken: true});
        const {value} = await it.next();
        await it.return();
        const lp = new Map();
        let max = -Infinity, min = Infinity;
        for (const [id, p] of value.probabilities) {
            if (p <= 0) continue;
            const l = Math.log(p);
            lp.set(id, l);
            max = Math.max(max, l);
            min = Math.min(min, l);
        }
        return {lp, range: max - min};
    } finally {
        await context.dispose();
    }
}

// --- pagoda --------------------------------------------------------------------------------
function pagodaGenerate(prompt, n, flag, file, bias = null) {
    const args = ["generate", "--model", modelPath, "--prompt-ids", prompt.join(" "), "--no-bos", "-n", String(n),
                  "--temp", "0", "--ids", "--threads", String(opts.threads), flag, file];
    if (bias) args.push("--logit-bias", Object.entries(bias).map(([id, b]) => `${id}:${b}`).join(","));
    const r = spawnSync(opts.pagoda, args, {encoding: "utf8", maxBuffer: 64 << 20});
    if (r.error || r.status !== 0) {
        return {error: `pagoda ${args.join(" ")} exited with ${r.status ?? r.error?.message}:\n${r.stderr}`};
    }
    return {ids: parseIds(r.stdout)};
}

// Pagoda may print the EOG id or stop before it: either way, fewer than n ids means it stopped.
function outcome(ids, n) {
    const eog = ids.length > 0 && isEog(ids[ids.length - 1]);
    const body = eog ? ids.slice(0, -1) : ids;
    return {body, ended: eog || ids.length < n, eogId: eog ? ids[ids.length - 1] : null};
}

const text = (ids) => model.detokenize(ids, true);

// --- run -----------------------------------------------------------------------------------
let failures = 0;
const fail = (what) => {
    failures++;
    console.log(`[${name}] FAIL ${what}`);
};

async function compareCase(c, gbnf, check) {
    const bias = c.bias ? c.bias() : null;
    if (c.bias && !bias) {
        console.log(`[${name}] ${c.id}: not applicable to this vocabulary`);
        return;
    }
    const grammar = await llama.createGrammar({grammar: gbnf});
    const prompt = promptIds(opts.prompt ?? c.prompt);
    const file = path.join(opts.workDir, `${name}.${c.id}.gbnf`);
    fs.writeFileSync(file, gbnf);
    const ref = await llamaGreedy(grammar, prompt, c.n, bias);
    const r = outcome(ref, c.n);
    if (opts.llamaOnly) {
        console.log(`[${name}] ${c.id}: llama.cpp ${ref.length} tokens, ended=${r.ended}: ${JSON.stringify(text(r.body))}`);
        return;
    }
    const got = pagodaGenerate(prompt, c.n, "--grammar-file", file, bias);
    if (got.error) return fail(`${c.id}: ${got.error}`);
    const p = outcome(got.ids, c.n);
    let same = 0;
    while (same < r.body.length && same < p.body.length && r.body[same] === p.body[same]) same++;
    const identical = same === r.body.length && same === p.body.length && r.ended === p.ended;
    if (identical) {
        const eogNote = r.eogId !== null && p.eogId !== null && r.eogId !== p.eogId ? ` (EOG id ${p.eogId}, llama.cpp ${r.eogId})` : "";
        console.log(`[${name}] ${c.id}: identical, ${p.body.length} tokens, ${p.ended ? "ended" : "at -n"}${eogNote}: ` +
                    `${JSON.stringify(text(p.body))}`);
        if (eogNote) fail(`${c.id}: both ended, with different EOG tokens${eogNote}`);
    } else {
        await explainDivergence(c, grammar, prompt, r, p, same, bias);
    }

    // llama.cpp's grammar must accept Pagoda's output as it stands.
    const tail = p.eogId !== null ? [...p.body, p.eogId] : p.body;
    const {state, rejected} = llamaGrammarAfter(grammar, tail);
    if (rejected >= 0) {
        fail(`${c.id}: llama.cpp's grammar rejects Pagoda's token ${tail[rejected]} ${JSON.stringify(text([tail[rejected]]))} ` +
             `at index ${rejected} after ${JSON.stringify(text(tail.slice(0, rejected)))}`);
    } else if (p.ended && p.eogId === null && model.tokens.eos != null &&
               !grammarBinding.canBeNextTokenForGrammarEvaluationState(state._state, model.tokens.eos)) {
        fail(`${c.id}: Pagoda stopped where llama.cpp's grammar does not allow the end`);
    }
    const err = check(text(p.body), p.ended);
    if (err) fail(`${c.id}: Pagoda's text ${JSON.stringify(text(p.body))}: ${err}`);
    return got.ids;
}

// A control token (rendered only as special text) that llama.cpp's grammar let through by its
// text. Pagoda gives grammars the pieces without special rendering (grammar.h: control tokens
// have empty pieces and are never allowed), a documented difference: reported, not failed.
const isControlMatchedByText = (t) => t !== null && !isEog(t) && model.detokenize([t], false) === "" && text([t]) !== "";

async function explainDivergence(c, grammar, prompt, r, p, at, bias) {
    const show = (ids) => `${ids.join(" ")}  ${JSON.stringify(text(ids))}`;
    const biasFlag = bias ? ` --logit-bias ${Object.entries(bias).map(([id, b]) => `${id}:${b}`).join(",")}` : "";
    const detail = `\n  llama.cpp: ${show(r.body)}${r.ended ? " <end>" : ""}\n  pagoda:    ${show(p.body)}${p.ended ? " <end>" : ""}` +
                   `\n  reproduce: --grammar-file ${path.join(opts.workDir, `${name}.${c.id}.gbnf`)} --prompt-ids "${prompt.join(" ")}"` +
                   biasFlag;
    const prefix = r.body.slice(0, at);
    const llamaTok = at < r.body.length ? r.body[at] : r.eogId;
    const pagodaTok = at < p.body.length ? p.body[at] : p.eogId;
    const {state} = llamaGrammarAfter(grammar, prefix);
    const allowed = (t) => t !== null && grammarBinding.canBeNextTokenForGrammarEvaluationState(state._state, t);
    const {lp, range} = await llamaLogprobs([...prompt, ...prefix]);
    const bound = 1e-3 * range;
    // The score greedy compares: log-probability plus any logit bias.
    const lpOf = (t) => (t === null || !lp.has(t) ? undefined : lp.get(t) + (bias?.[t] ?? 0));
    const where = `at token ${at} (after ${JSON.stringify(text(prefix))})`;
    const desc = (t) => (t === null ? (at < r.body.length || at < p.body.length ? "<limit/stop>" : "<none>") :
        `${t} ${JSON.stringify(text([t]))} score ${lpOf(t)?.toFixed(4) ?? "?"} llama-grammar ${allowed(t) ? "allows" : "REJECTS"}`);
    const a = lpOf(llamaTok), b = lpOf(pagodaTok);
    if (pagodaTok !== null && !allowed(pagodaTok)) {
        return fail(`${c.id}: ${where} Pagoda picked a token llama.cpp's grammar rejects: pagoda ${desc(pagodaTok)}, ` +
                    `llama.cpp ${desc(llamaTok)}${detail}`);
    }
    if (a !== undefined && b !== undefined && Math.abs(a - b) <= bound) {
        console.log(`[${name}] ${c.id}: identical up to a near-tie ${where}: llama.cpp ${desc(llamaTok)}, pagoda ` +
                    `${desc(pagodaTok)} (bound ${bound.toExponential(2)})`);
        return;
    }
    // llama.cpp decodes UTF-8 leniently (a lead byte such as 0xF7 gives a "code point" past
    // U+10FFFF that a negated class accepts); Pagoda's output is valid UTF-8 by design.
    const llamaRest = text(r.body.slice(at)).replace(/\uFFFD+$/u, "");
    if (a !== undefined && b !== undefined && a > b && llamaTok !== null && text([llamaTok]).includes("\uFFFD") &&
        llamaRest.includes("\uFFFD")) {
        console.log(`[${name}] ${c.id}: KNOWN DIFFERENCE ${where}: llama.cpp's text from here is not valid UTF-8 ` +
                    `(${JSON.stringify(llamaRest.slice(0, 24))}...), Pagoda only emits valid UTF-8; llama.cpp ` +
                    `${desc(llamaTok)}, pagoda ${desc(pagodaTok)}${detail}`);
        return;
    }
    if (a !== undefined && b !== undefined && a > b && isControlMatchedByText(llamaTok)) {
        console.log(`[${name}] ${c.id}: KNOWN DIFFERENCE ${where}: llama.cpp's grammar matched control token ${llamaTok} ` +
                    `${JSON.stringify(text([llamaTok]))} by its text, Pagoda never allows control tokens in a grammar; ` +
                    `llama.cpp ${desc(llamaTok)}, pagoda ${desc(pagodaTok)}${detail}`);
        return;
    }
    let verdict = "tokens differ";
    if (a !== undefined && b !== undefined && a > b) {
        verdict = llamaTok !== null && isEog(llamaTok)
            ? `llama.cpp ended with its end-of-generation token ${llamaTok} ${JSON.stringify(text([llamaTok]))}, which ` +
              "scores better: Pagoda does not count it as end of generation, or did not allow ending here"
            : "Pagoda passed over llama.cpp's (better-scored) token: its grammar rejected a token llama.cpp's allows";
    }
    fail(`${c.id}: MISMATCH ${where}: ${verdict}; llama.cpp ${desc(llamaTok)}, pagoda ${desc(pagodaTok)}${detail}`);
}

function ajvFor(schema) {
    const ajv = new Ajv({strict: false, allErrors: true});
    ajv.addFormat("date", /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/);
    ajv.addFormat("time", /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$/);
    return ajv.compile(schema);
}

// The text must parse as JSON and validate when the grammar ended (or once it parses).
const validates = (schema) => {
    const validate = ajvFor(schema);
    return (t, ended) => {
        let v;
        try {
            v = JSON.parse(t);
        } catch (e) {
            return ended ? `ended but JSON.parse fails: ${e.message}` : null;
        }
        return validate(v) ? null : `does not validate: ${JSON.stringify(validate.errors)}`;
    };
};

const selected = (c) => !opts.case || c.id.includes(opts.case);
for (const c of GBNF_CASES.filter(selected)) {
    await compareCase(c, c.gbnf(), c.check);
}
// A GBNF compiles in Pagoda iff `generate -n 1` with it exits 0.
function pagodaCompiles(file) {
    const r = spawnSync(opts.pagoda, ["generate", "--model", modelPath, "--prompt-ids", promptIds("a").join(" "), "--no-bos",
                                      "-n", "1", "--temp", "0", "--ids", "--threads", "1", "--grammar-file", file],
                        {encoding: "utf8"});
    return {ok: r.status === 0, message: r.stderr.trim().split("\n").pop()};
}

for (const c of SYNTAX_CASES.filter((c) => selected({id: `syntax.${c.id}`}))) {
    const id = `syntax.${c.id}`;
    let llamaOk = true;
    try {
        await llama.createGrammar({grammar: c.gbnf});
    } catch {
        llamaOk = false;
    }
    if (llamaOk !== c.llama) fail(`${id}: llama.cpp ${llamaOk ? "accepts" : "rejects"} it now (the table says otherwise)`);
    if (opts.llamaOnly) continue;
    const file = path.join(opts.workDir, `${name}.${id}.gbnf`);
    fs.writeFileSync(file, c.gbnf);
    const pagoda = pagodaCompiles(file);
    if (pagoda.ok !== c.pagoda) {
        fail(`${id}: Pagoda ${pagoda.ok ? "accepts" : "rejects"} ${JSON.stringify(c.gbnf)}, llama.cpp ` +
             `${llamaOk ? "accepts" : "rejects"} it (${pagoda.message})`);
        continue;
    }
    if (llamaOk && pagoda.ok) {
        await compareCase({id, prompt: "Once upon a time", n: 8}, c.gbnf, () => null);
    } else {
        console.log(`[${name}] ${id}: ${llamaOk === pagoda.ok ? "both reject" : `differs as intended (${c.why})`}` +
                    `${pagoda.ok ? "" : `: ${pagoda.message}`}`);
    }
}

// Pagoda's own converter: its GBNF (pagoda-schema-gbnf) through both grammar engines, and
// `generate --json-schema-file` must give the very tokens of `--grammar-file` with that GBNF.
function pagodaSchemaGbnf(schemaFile) {
    const r = spawnSync(opts.schemaGbnf, [schemaFile], {encoding: "utf8"});
    if (r.status !== 0) throw new Error(`pagoda-schema-gbnf ${schemaFile}: ${r.stderr}`);
    return r.stdout;
}

for (const c of SCHEMA_CASES.filter(selected)) {
    const gbnf = (await llama.createGrammarForJsonSchema(c.schema)).grammar;
    await compareCase({...c, id: `${c.id}.node-llama-cpp`}, gbnf, validates(c.schema));
    if (opts.llamaOnly) continue;
    const file = path.join(opts.workDir, `${name}.${c.id}.json`);
    fs.writeFileSync(file, JSON.stringify(c.schema));
    let viaGbnf = null;
    if (opts.schemaGbnf) viaGbnf = await compareCase({...c, id: `${c.id}.pagoda-gbnf`}, pagodaSchemaGbnf(file), validates(c.schema));
    const got = pagodaGenerate(promptIds(opts.prompt ?? c.prompt), c.n, "--json-schema-file", file);
    if (got.error) {
        fail(`${c.id}.json-schema-file: ${got.error}`);
        continue;
    }
    const p = outcome(got.ids, c.n);
    const err = validates(c.schema)(text(p.body), p.ended);
    if (err) fail(`${c.id}.json-schema-file: ${JSON.stringify(text(p.body))}: ${err}`);
    else console.log(`[${name}] ${c.id}.json-schema-file: ${p.ended ? "ended, valid" : "at -n"}`);
    if (viaGbnf && JSON.stringify(viaGbnf) !== JSON.stringify(got.ids)) {
        fail(`${c.id}.json-schema-file: tokens differ from --grammar-file with the converter's GBNF`);
    }
}
if (opts.schemaGbnf && !opts.llamaOnly && selected({id: "json_object"})) {
    const r = spawnSync(opts.schemaGbnf, ["--json-object"], {encoding: "utf8"});
    await compareCase({id: "json_object.pagoda-gbnf", prompt: "The data is", n: 96}, r.stdout, parsesAs("object"));
}

await model.dispose();
await llama.dispose();
if (failures > 0) {
    console.log(`[${name}] FAILED: ${failures} check(s)`);
    process.exit(1);
}
console.log(`[${name}] PASSED`);
