// The llama.cpp side of bench/batch/compare_batch.sh: N requests run at once on one
// node-llama-cpp context with N sequences (llama.cpp batches the concurrent
// sequence.evaluate() calls into one llama_decode per step), greedy, EOS ignored.
//
// Requests are seeded: request i gets a prompt of PMIN..PMAX words drawn from a fixed
// word list and an output length of OMIN..OMAX tokens. The same prompts are what
// --print-prompts writes (one per line), which is how the Pagoda side gets them, so both
// engines see the same texts; each side tokenizes them itself (BOS added when the
// vocabulary asks for it) and the prompt token totals are printed to check they agree.
//
// usage: node bench/batch/llama_cpp_batch.mjs --model PATH --concurrency N [--threads T]
//        [--seed S] [--prompt-min W] [--prompt-max W] [--out-min N] [--out-max N]
//        [--reps R] [--print-prompts] [--print-out-lens]
// Prints one JSON line: generated tokens, wall seconds (first submit to last token,
// prefill included) and aggregate generated tokens/s of the best of R runs (the
// sequences are cleared between runs; one untimed warm-up run comes first).
// node-llama-cpp is loaded from $PAGODA_PEERS_DIR (default tests/peers).
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
    const o = {threads: 0, concurrency: 1, seed: 1, promptMin: 16, promptMax: 128, outMin: 16, outMax: 64,
               printPrompts: false, printOutLens: false, reps: 1};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = () => {
            if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
            return argv[++i];
        };
        if (a === "--model") o.model = v();
        else if (a === "--threads" || a === "-t") o.threads = Number(v());
        else if (a === "--concurrency" || a === "-c") o.concurrency = Number(v());
        else if (a === "--seed") o.seed = Number(v());
        else if (a === "--prompt-min") o.promptMin = Number(v());
        else if (a === "--prompt-max") o.promptMax = Number(v());
        else if (a === "--out-min") o.outMin = Number(v());
        else if (a === "--out-max") o.outMax = Number(v());
        else if (a === "--reps") o.reps = Number(v());
        else if (a === "--print-prompts") o.printPrompts = true;
        else if (a === "--print-out-lens") o.printOutLens = true;
        else throw new Error(`unknown argument ${a}`);
    }
    const ints = ["concurrency", "promptMin", "promptMax", "outMin", "outMax", "seed", "threads", "reps"];
    for (const k of ints) {
        if (!Number.isInteger(o[k]) || o[k] < 0) throw new Error(`--${k} must be a non-negative integer`);
    }
    if (o.concurrency < 1 || o.concurrency > 1024) throw new Error("--concurrency must be 1..1024");
    if (o.promptMin < 1 || o.promptMax < o.promptMin) throw new Error("need 1 <= --prompt-min <= --prompt-max");
    if (o.outMin < 1 || o.outMax < o.outMin) throw new Error("need 1 <= --out-min <= --out-max");
    if (o.reps < 1) throw new Error("--reps must be 1 or more");
    if (!o.printPrompts && !o.printOutLens && !o.model) throw new Error("--model is required");
    return o;
}

// mulberry32: small, seedable, identical everywhere.
function rng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const WORDS = ("the of and to in is was for on that with as by at from his her this which are be had it an not " +
    "have were they one their all been has more when who would there can other into its some time first two " +
    "river mountain city music light water garden window history market forest engine letter number morning " +
    "quiet simple careful bright small large green old new ancient modern strange")
    .split(" ");

export function makeRequests(o) {
    const r = rng(o.seed);
    const between = (lo, hi) => lo + Math.floor(r() * (hi - lo + 1));
    const reqs = [];
    for (let i = 0; i < o.concurrency; i++) {
        const nWords = between(o.promptMin, o.promptMax);
        const words = [];
        for (let w = 0; w < nWords; w++) words.push(WORDS[Math.floor(r() * WORDS.length)]);
        reqs.push({text: words.join(" "), outLen: between(o.outMin, o.outMax)});
    }
    return reqs;
}

const o = parseArgs(process.argv.slice(2));
const reqs = makeRequests(o);
if (o.printOutLens) {  // one line, comma-separated: `pagoda generate --n-each`
    process.stdout.write(reqs.map((q) => q.outLen).join(",") + "\n");
    process.exit(0);
}
if (o.printPrompts) {
    for (const q of reqs) process.stdout.write(q.text + "\n");
    process.exit(0);
}

const peers = process.env.PAGODA_PEERS_DIR || path.resolve(here, "../../tests/peers");
const require = createRequire(path.join(peers, "package.json"));
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);

const threads = o.threads > 0 ? o.threads : undefined;
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 0});
const model = await llama.loadModel({modelPath: o.model, gpuLayers: 0});
const bos = model.tokens.bos;
const addBos = bos != null && model.tokens.shouldPrependBosToken !== false;
const prompts = reqs.map((q) => {
    const ids = Array.from(model.tokenize(q.text, false));
    return addBos ? [bos, ...ids] : ids;
});
const maxLen = Math.max(...prompts.map((p, i) => p.length + reqs[i].outLen));
const context = await model.createContext({
    contextSize: maxLen + 16,  // per sequence
    batchSize: 512,
    sequences: o.concurrency,
    ...(threads ? {threads: {ideal: threads, min: threads}} : {}),
});
const seqs = reqs.map(() => context.getSequence());

// Warm-up (not timed), as llama-bench does: the first decodes build and allocate the
// compute graphs, which costs far more than a step. Every sequence takes a short prompt
// and two tokens at once, then is cleared.
await Promise.all(seqs.map(async (s, i) => {
    let n = 0;
    for await (const _tok of s.evaluate(prompts[i].slice(0, 8), {temperature: 0, yieldEogToken: true})) {
        if (++n >= 2) break;
    }
}));
await Promise.all(seqs.map((s) => s.clearHistory()));

// One timed run: every request submitted at once, wall time until the last token.
async function runOnce() {
    const start = performance.now();
    const counts = await Promise.all(reqs.map(async (q, i) => {
        let n = 0;
        const gen = seqs[i].evaluate(prompts[i], {temperature: 0, yieldEogToken: true});
        for await (const _tok of gen) {
            if (++n >= q.outLen) break;
        }
        return n;
    }));
    const wall = (performance.now() - start) / 1000;
    await Promise.all(seqs.map((s) => s.clearHistory()));
    return {generated: counts.reduce((a, b) => a + b, 0), wall};
}

// --reps R: the best of R runs (the machine this runs on is usually shared).
const runs = [];
for (let r = 0; r < o.reps; r++) runs.push(await runOnce());
const best = runs.reduce((a, b) => (b.generated / b.wall > a.generated / a.wall ? b : a));
const promptTokens = prompts.reduce((a, p) => a + p.length, 0);
process.stdout.write(JSON.stringify({
    engine: "llama.cpp", concurrency: o.concurrency, threads: o.threads, seed: o.seed,
    prompt_tokens: promptTokens, generated_tokens: best.generated, wall_s: Number(best.wall.toFixed(3)),
    tokens_per_second: Number((best.generated / best.wall).toFixed(2)),
    all_tokens_per_second: runs.map((x) => Number((x.generated / x.wall).toFixed(2))),
}) + "\n");
await context.dispose();
await model.dispose();
