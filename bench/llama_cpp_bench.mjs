// The llama.cpp side of bench/compare.sh: the same measurement as `pagoda bench`,
// through node-llama-cpp's CPU build (llama.cpp as a library, as llama-bench uses it).
//   pp<P>: fresh sequence, P prompt tokens in one evaluation (batch 512, as llama.cpp's
//          default), logits for the last one; tokens/s = P / time.
//   tg<N>: fresh sequence, one prompt token, then N single-token greedy steps;
//          tokens/s = N / time of those steps.
// Prompt ids use the same formula as app/cli/cmd_bench.cpp.
//
// usage: node bench/llama_cpp_bench.mjs --model PATH [--threads N] [-p 512] [-n 128]
//        [--reps R] [--json]
// node-llama-cpp is loaded from $PAGODA_PEERS_DIR (default tests/peers).
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const peers = process.env.PAGODA_PEERS_DIR || path.resolve(here, "../tests/peers");
const require = createRequire(path.join(peers, "package.json"));
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);

function parseArgs(argv) {
    const o = {threads: 0, p: 512, n: 128, reps: 3, json: false, warmup: true};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = () => {
            if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
            return argv[++i];
        };
        if (a === "--model") o.model = v();
        else if (a === "--threads" || a === "-t") o.threads = Number(v());
        else if (a === "-p" || a === "--n-prompt") o.p = Number(v());
        else if (a === "-n" || a === "--n-gen") o.n = Number(v());
        else if (a === "--reps" || a === "-r") o.reps = Number(v());
        else if (a === "--json") o.json = true;
        else if (a === "--no-warmup") o.warmup = false;
        else throw new Error(`unknown argument ${a}`);
    }
    if (!o.model) throw new Error("--model is required");
    return o;
}

function benchPrompt(n, nVocab) {
    const span = nVocab > 3 ? nVocab - 3 : nVocab;
    const first = nVocab > 3 ? 3 : 0;
    const ids = [];
    for (let i = 0; i < n; i++) ids.push(first + ((Math.imul(i + 1, 2654435761 | 0) >>> 0) % span));
    return ids;
}

function stats(samples) {
    const mean = samples.reduce((a, b) => a + b, 0) / Math.max(samples.length, 1);
    const sd = samples.length < 2 ? 0
        : Math.sqrt(samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples.length - 1));
    return {tokens_per_second: mean, stddev: sd, samples};
}

const o = parseArgs(process.argv.slice(2));
const threads = o.threads > 0 ? o.threads : undefined;
const loadStart = performance.now();
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 0});
const model = await llama.loadModel({modelPath: o.model, gpuLayers: 0});
const nVocab = model.tokens.vocabSize ?? model.fileInsights.tokens ?? 32000;
const ctxSize = Math.max(o.p, o.n + 1) + 16;
const context = await model.createContext({
    contextSize: ctxSize,
    batchSize: Math.min(512, ctxSize),
    sequences: 1,
    ...(threads ? {threads: {ideal: threads, min: threads}} : {}),
});
const seq = context.getSequence();
const loadSeconds = (performance.now() - loadStart) / 1000;
const prompt = benchPrompt(Math.max(o.p, 1), nVocab);

// Evaluates tokens with logits for the last one only (no sampling), like llama-bench.
async function prefill(tokens) {
    const items = tokens.map((t, i) => (i === tokens.length - 1 ? [t, {generateNext: {token: true}}] : t));
    await seq.controlledEvaluate(items, {});
}

async function generate(n) {
    const it = seq.evaluate([prompt[0]], {temperature: 0, yieldEogToken: true});
    let first = true, produced = 0, t0 = 0;
    for await (const token of it) {
        void token;
        if (first) {
            first = false;
            t0 = performance.now();  // the single prompt token is evaluated; now time n steps
            continue;
        }
        if (++produced >= n) break;
    }
    return (performance.now() - t0) / 1000;
}

if (o.warmup) {
    await seq.clearHistory();
    await prefill(prompt.slice(0, Math.min(16, prompt.length)));
}
const pp = [], tg = [];
for (let r = 0; r < o.reps; r++) {
    if (o.p > 0) {
        await seq.clearHistory();
        const t0 = performance.now();
        await prefill(prompt.slice(0, o.p));
        pp.push(o.p / ((performance.now() - t0) / 1000));
    }
    if (o.n > 0) {
        await seq.clearHistory();
        tg.push(o.n / (await generate(o.n)));
    }
}
const actualThreads = context._ctx?.getThreads?.() ?? threads ?? 0;
await context.dispose();
await model.dispose();
await llama.dispose();

const result = {engine: "llama.cpp (node-llama-cpp 3.21.1, CPU)", model: o.model, threads: actualThreads,
    n_prompt: o.p, n_gen: o.n, reps: o.reps, load_seconds: loadSeconds};
if (o.p > 0) result.pp = stats(pp);
if (o.n > 0) result.tg = stats(tg);
if (o.json) {
    console.log(JSON.stringify(result));
} else {
    console.log(`model:   ${o.model}\nbackend: llama.cpp cpu (${actualThreads} threads), loaded in ` +
                `${loadSeconds.toFixed(2)} s, ${o.reps} reps\n`);
    console.log("| test     |     tokens/s |     stddev |");
    console.log("| -------- | ------------ | ---------- |");
    if (o.p > 0) console.log(`| ${("pp" + o.p).padEnd(8)} | ${result.pp.tokens_per_second.toFixed(2).padStart(12)} | ` +
                             `${result.pp.stddev.toFixed(2).padStart(10)} |`);
    if (o.n > 0) console.log(`| ${("tg" + o.n).padEnd(8)} | ${result.tg.tokens_per_second.toFixed(2).padStart(12)} | ` +
                             `${result.tg.stddev.toFixed(2).padStart(10)} |`);
}
