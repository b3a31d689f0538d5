// One parity case: the same GGUF through llama.cpp (node-llama-cpp) and `pagoda`.
// Checks, and exits non-zero on any mismatch:
//   1. tokenization of the prompt text (pagoda tokenize vs llama.cpp), when given a text;
//   2. the first N greedy tokens after BOS + prompt (pagoda generate --prompt-ids with
//      llama.cpp's prompt ids, so a tokenizer bug cannot hide a model bug or vice versa),
//      up to the first EOS. They must be identical, except that the two may part at a
//      step where llama.cpp's own margin between the two tokens is within the logit
//      bound below (a near-tie, decided by rounding): that is reported, not failed;
//   3. the next-token distribution at the last prompt position: pagoda's raw logits
//      (--logits-out) turned into log-softmax, against llama.cpp's log-probabilities
//      (see llama_reference.mjs for why log-probabilities). The max difference is
//      printed and must be within tol * max|logit|.
//
// usage: node run_parity_case.mjs --pagoda BIN (--model GGUF | --make-model BIN --arch A
//        --type T --seed S [--tied] [--model-args "..."]) --work-dir DIR [--prompt TEXT]
//        [--threads N] [-n N] [--tol X] [--name NAME]
// A --model that does not exist (no ../shared) exits 77, which ctest reports as skipped.
import fs from "node:fs";
import path from "node:path";

import {runReference} from "./llama_reference.mjs";
import {logSoftmax, parseFlags, parseIds, run} from "./parity_util.mjs";

const DEFAULT_PROMPT =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park " +
    "with her dog \u2014 caf\u00e9 \u2615!";

function parseArgs(argv) {
    const o = parseFlags(argv, {
        "--pagoda": "string",
        "--model": "string",
        "--make-model": "string",
        "--arch": "string",
        "--type": "string",
        "--seed": "string",
        "--tied": "boolean",
        "--model-args": "string",
        "--work-dir": "string",
        "--prompt": "string",
        "--threads": "number",
        "-n": "number",
        "--tol": "number",
        "--name": "string",
    }, {threads: 2, n: 32, tol: 1e-3, prompt: DEFAULT_PROMPT, tied: false, modelArgs: ""});
    if (!o.pagoda) throw new Error("--pagoda is required");
    if (!o.model && !o.makeModel) throw new Error("--model or --make-model is required");
    return o;
}

function untilEos(ids, eos) {
    const i = ids.indexOf(eos);
    return i < 0 ? ids : ids.slice(0, i);
}

const opts = parseArgs(process.argv.slice(2));
const name = opts.name ?? (opts.model ? path.basename(opts.model) : `${opts.arch}-${opts.type}`);
fs.mkdirSync(opts.workDir, {recursive: true});
const failures = [];

let modelPath = opts.model;
if (modelPath && !fs.existsSync(modelPath)) {
    console.log(`[${name}] SKIPPED: ${modelPath} not found (../shared is not available)`);
    process.exit(77);
}
if (!modelPath) {
    modelPath = path.join(opts.workDir, `${name}.gguf`);
    const args = ["--arch", opts.arch, "--type", opts.type, "--seed", String(opts.seed ?? 1)];
    if (opts.tied) args.push("--tied");
    if (opts.modelArgs) args.push(...opts.modelArgs.trim().split(/\s+/));
    run(opts.makeModel, [...args, modelPath]);
}

const ref = await runReference({model: modelPath, prompt: opts.prompt, n: opts.n, threads: opts.threads});
const EOS = 2;  // every model here (stories260K and the random ones) uses </s> = 2

// 1. Tokenization.
const pagodaTokens = parseIds(run(opts.pagoda, ["tokenize", "--model", modelPath, "--no-bos", "--text", opts.prompt]));
const tokOk = JSON.stringify(pagodaTokens) === JSON.stringify(ref.text_tokens);
console.log(`[${name}] tokenize: ${tokOk ? "identical" : "MISMATCH"} (${ref.text_tokens.length} tokens)`);
if (!tokOk) {
    failures.push("tokenization differs");
    console.log(`  llama.cpp: ${ref.text_tokens.join(" ")}\n  pagoda:    ${pagodaTokens.join(" ")}`);
}

// 2 + 3. Greedy tokens and last-position logits from llama.cpp's prompt ids.
const logitsFile = path.join(opts.workDir, `${name}.logits.f32`);
fs.rmSync(logitsFile, {force: true});
const genOut = run(opts.pagoda, [
    "generate", "--model", modelPath, "--prompt-ids", ref.prompt_tokens.join(" "), "--no-bos",
    "-n", String(opts.n), "--temp", "0", "--ids", "--threads", String(opts.threads), "--logits-out", logitsFile,
]);
const refGen = untilEos(ref.generated, EOS);
const pagodaGen = untilEos(parseIds(genOut), EOS);
const buf = fs.readFileSync(logitsFile);
const logits = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
const maxAbs = logits.reduce((m, l) => Math.max(m, Math.abs(l)), 0);
const bound = opts.tol * maxAbs;

let firstDiff = 0;
while (firstDiff < refGen.length && firstDiff < pagodaGen.length && refGen[firstDiff] === pagodaGen[firstDiff]) {
    firstDiff++;
}
const genOk = firstDiff === refGen.length && firstDiff === pagodaGen.length;
if (genOk) {
    console.log(`[${name}] greedy: identical (${refGen.length} tokens` +
                `${refGen.length < ref.generated.length ? ", stopped at EOS" : ""})`);
} else {
    // Two correct engines can still part ways where llama.cpp's own top two candidates
    // are closer than the logit tolerance (rounding, e.g. of quantized activations,
    // decides). Such a divergence is reported, not failed; any other is a failure.
    const top = ref.step_top[firstDiff] ?? [];
    const lp = (id) => top.find(([t]) => t === id)?.[1];
    const llamaLp = lp(refGen[firstDiff]), pagodaLp = lp(pagodaGen[firstDiff]);
    const margin = llamaLp !== undefined && pagodaLp !== undefined ? llamaLp - pagodaLp : Infinity;
    const nearTie = firstDiff < refGen.length && firstDiff < pagodaGen.length && margin <= bound;
    console.log(`[${name}] greedy: ${nearTie ? "identical up to a near-tie" : "MISMATCH"} at token ${firstDiff} ` +
                `of ${refGen.length}: llama.cpp ${refGen[firstDiff]}, pagoda ${pagodaGen[firstDiff]}, ` +
                `llama.cpp's margin between them ${Number.isFinite(margin) ? margin.toExponential(3) : "large"} ` +
                `(bound ${bound.toExponential(3)})`);
    if (!nearTie) {
        failures.push(`greedy tokens differ from index ${firstDiff}`);
        console.log(`  llama.cpp: ${refGen.join(" ")}\n  pagoda:    ${pagodaGen.join(" ")}`);
    }
}

if (logits.length !== ref.logprobs.length) {
    failures.push(`logits: pagoda wrote ${logits.length} values, llama.cpp has ${ref.logprobs.length}`);
} else {
    const lp = logSoftmax(logits);
    let maxDiff = 0, worst = -1, compared = 0, underflowBad = 0;
    for (let i = 0; i < lp.length; i++) {
        const r = ref.logprobs[i];
        // Below ~-87 llama.cpp's float softmax is denormal or zero: no usable value.
        if (r === null || r < -80) {
            if (lp[i] > -70) underflowBad++;
            continue;
        }
        compared++;
        const d = Math.abs(lp[i] - r);
        if (d > maxDiff) {
            maxDiff = d;
            worst = i;
        }
    }
    const logitsOk = maxDiff <= bound && underflowBad === 0 && compared > 0;
    console.log(`[${name}] logits: max |diff| ${maxDiff.toExponential(3)} (token ${worst}) over ${compared}/` +
                `${lp.length} tokens, max|logit| ${maxAbs.toFixed(3)}, bound ${bound.toExponential(3)} ` +
                `(rel ${(maxDiff / maxAbs).toExponential(3)}): ${logitsOk ? "ok" : "FAIL"}`);
    if (!logitsOk) failures.push("last-position logits differ beyond the bound");
}

if (failures.length > 0) {
    console.log(`[${name}] FAILED: ${failures.join("; ")}`);
    process.exit(1);
}
console.log(`[${name}] PASSED`);
