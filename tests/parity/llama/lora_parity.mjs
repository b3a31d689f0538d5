// LoRA parity with llama.cpp: the same seeded random model + GGUF LoRA adapter (written by
// pagoda-make-test-model --lora-out, see tests/fixtures/random_lora.h) through llama.cpp
// (node-llama-cpp's CPU build, adapter set on the context with a scale) and through
// `pagoda generate --lora lora.gguf[:SCALE]`. For each of a few prompts (token ids, BOS first):
//   1. the adapter must change llama.cpp's greedy output (else this test could not fail);
//   2. the first N greedy tokens of pagoda + adapter == llama.cpp + adapter (EOS is an ordinary
//      token on both sides: pagoda --ignore-eos, llama.cpp goes on past it), except that the two may part where llama.cpp's own margin between the two tokens
//      is within tol * max|logit| (a near-tie decided by rounding; reported, not failed);
//   3. the next-token log-distribution at the last prompt position agrees within
//      tol * max|logit| (pagoda --logits-out against llama.cpp's log-probabilities, as in
//      run_parity_case.mjs);
//   4. with --scale 1, the fixture itself is checked: llama.cpp on merged.gguf (W + scale*B*A
//      baked in) must give llama.cpp + adapter's greedy tokens (near-ties allowed, with the
//      bound widened by --merged-tol because an f16 merged model rounds the merged weights).
//      A failure there means the adapter file, not pagoda, is off.
//
// usage: node lora_parity.mjs --pagoda BIN --make-model BIN --arch A --type f32|f16 --seed S
//        --work-dir DIR [--model-args "..."] [--lora-args "..."] [--scale X] [-n N]
//        [--threads N] [--tol X] [--merged-tol X] [--name NAME]
import fs from "node:fs";
import path from "node:path";

import {greedyRun} from "./llama_reference.mjs";
import {importPeer} from "./load_peer.mjs";
import {logSoftmax, parseFlags, parseIds, run} from "./parity_util.mjs";

const {getLlama, LlamaLogLevel} = await importPeer("node-llama-cpp");

const BOS = 1;  // the random models' <s>

function parseArgs(argv) {
    const o = parseFlags(argv, {
        "--pagoda": "string",
        "--make-model": "string",
        "--arch": "string",
        "--type": "string",
        "--seed": "string",
        "--model-args": "string",
        "--lora-args": "string",
        "--scale": "number",
        "--work-dir": "string",
        "--threads": "number",
        "-n": "number",
        "--tol": "number",
        "--merged-tol": "number",
        "--name": "string",
    }, {threads: 1, n: 24, tol: 1e-3, mergedTol: 1e-2, scale: 1, modelArgs: "", loraArgs: "", seed: "1"});
    for (const k of ["pagoda", "makeModel", "arch", "type", "workDir"]) {
        if (!o[k]) throw new Error(`--${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} is required`);
    }
    if (!(o.scale > 0)) throw new Error("--scale must be positive");
    return o;
}

// Seeded prompts of ordinary tokens (ids 3.. < vocab: past <unk>, <s>, </s>), BOS first.
function makePrompts(seed, vocab) {
    let x = (Number(seed) * 2654435761 + 12345) >>> 0;
    const next = () => {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
        return x;
    };
    return [4, 11, 29].map((len) => [BOS, ...Array.from({length: len}, () => 3 + (next() % (vocab - 3)))]);
}

// llama.cpp greedy run (greedyRun) of each prompt on one model, optionally with a LoRA
// adapter {path, scale} on the context.
async function llamaRuns(llama, modelPath, prompts, n, threads, lora) {
    const model = await llama.loadModel({modelPath, gpuLayers: 0});
    try {
        const results = [];
        for (const prompt of prompts) results.push(await greedyRun(model, prompt, {n, threads, lora}));
        return results;
    } finally {
        await model.dispose();
    }
}

// Compares `other` with the reference greedy run `ref`. Returns
// {ok, text}: identical, identical up to a near-tie (the reference's margin between the two
// tokens at the first difference is <= bound), or a mismatch.
function compareGreedy(ref, other, bound) {
    const a = ref.generated, b = other;
    let d = 0;
    while (d < a.length && d < b.length && a[d] === b[d]) d++;
    if (d === a.length && d === b.length) return {ok: true, same: d, text: `identical (${d} tokens)`};
    const top = ref.step_top[d] ?? [];
    const lp = (id) => top.find(([t]) => t === id)?.[1];
    const la = lp(a[d]), lb = lp(b[d]);
    const margin = la !== undefined && lb !== undefined ? la - lb : Infinity;
    const nearTie = d < a.length && d < b.length && margin <= bound;
    const text = `${nearTie ? "identical up to a near-tie" : "MISMATCH"} at token ${d} of ${a.length}: ` +
                 `reference ${a[d]}, other ${b[d]}, reference margin ` +
                 `${Number.isFinite(margin) ? margin.toExponential(3) : "large"} (bound ${bound.toExponential(3)})` +
                 (nearTie ? "" : `\n    reference: ${a.join(" ")}\n    other:     ${b.join(" ")}`);
    return {ok: nearTie, same: d, text};
}

const opts = parseArgs(process.argv.slice(2));
const name = opts.name ?? `${opts.arch}-${opts.type}`;
const dir = path.join(opts.workDir, `lora-${name}`);
fs.rmSync(dir, {recursive: true, force: true});
fs.mkdirSync(dir, {recursive: true});
const failures = [];

// Model + adapter files: base.gguf, lora.gguf, merged.gguf (and peft/, unused here).
const base = path.join(dir, "base.gguf");
const loraPath = path.join(dir, "lora.gguf");
const merged = path.join(dir, "merged.gguf");
const modelArgs = opts.modelArgs.trim() ? opts.modelArgs.trim().split(/\s+/) : [];
const loraArgs = opts.loraArgs.trim() ? opts.loraArgs.trim().split(/\s+/) : [];
run(opts.makeModel, ["--arch", opts.arch, "--type", opts.type, "--seed", opts.seed, ...modelArgs,
                     "--lora-out", dir, ...loraArgs, base]);

const vocabIdx = modelArgs.indexOf("--vocab");
const vocab = vocabIdx >= 0 ? Number(modelArgs[vocabIdx + 1]) : 512;
const prompts = makePrompts(opts.seed, vocab);

const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
let refBase, refLora, refMerged = null;
try {
    refBase = await llamaRuns(llama, base, prompts, opts.n, opts.threads, null);
    refLora = await llamaRuns(llama, base, prompts, opts.n, opts.threads, {path: loraPath, scale: opts.scale});
    if (opts.scale === 1) refMerged = await llamaRuns(llama, merged, prompts, opts.n, opts.threads, null);
} finally {
    await llama.dispose();
}

const loraSpec = opts.scale === 1 ? loraPath : `${loraPath}:${opts.scale}`;
let changed = 0;
for (let p = 0; p < prompts.length; p++) {
    const tag = `[${name}] prompt ${p} (${prompts[p].length} ids)`;
    const adapterChanges = JSON.stringify(refBase[p].generated) !== JSON.stringify(refLora[p].generated);
    if (adapterChanges) changed++;
    console.log(`${tag}: llama.cpp base vs + adapter: ${adapterChanges ? "different" : "SAME"}`);

    const logitsFile = path.join(dir, `prompt${p}.logits.f32`);
    fs.rmSync(logitsFile, {force: true});
    const out = run(opts.pagoda, [
        "generate", "--model", base, "--lora", loraSpec, "--prompt-ids", prompts[p].join(" "), "--no-bos", "--ignore-eos",
        "-n", String(opts.n), "--temp", "0", "--ids", "--threads", String(opts.threads), "--logits-out", logitsFile,
    ]);
    const buf = fs.readFileSync(logitsFile);
    const logits = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
    const maxAbs = logits.reduce((m, l) => Math.max(m, Math.abs(l)), 0);
    const bound = opts.tol * maxAbs;

    const g = compareGreedy(refLora[p], parseIds(out), bound);
    console.log(`${tag}: pagoda --lora vs llama.cpp + adapter (scale ${opts.scale}): ${g.text}`);
    if (!g.ok) failures.push(`prompt ${p}: greedy tokens differ`);

    const ref = refLora[p].logprobs;
    if (logits.length !== ref.length) {
        failures.push(`prompt ${p}: pagoda wrote ${logits.length} logits, llama.cpp has ${ref.length}`);
    } else {
        const lp = logSoftmax(logits);
        let maxDiff = 0, compared = 0, underflowBad = 0;
        for (let i = 0; i < lp.length; i++) {
            if (ref[i] === null || ref[i] < -80) {  // llama.cpp's float softmax underflowed
                if (lp[i] > -70) underflowBad++;
                continue;
            }
            compared++;
            maxDiff = Math.max(maxDiff, Math.abs(lp[i] - ref[i]));
        }
        const ok = maxDiff <= bound && underflowBad === 0 && compared > 0;
        console.log(`${tag}: last-position log-softmax max |diff| ${maxDiff.toExponential(3)} over ${compared} ` +
                    `tokens, max|logit| ${maxAbs.toFixed(3)}, bound ${bound.toExponential(3)}: ${ok ? "ok" : "FAIL"}`);
        if (!ok) failures.push(`prompt ${p}: last-position logits differ beyond the bound`);
    }

    if (refMerged) {
        const m = compareGreedy(refLora[p], refMerged[p].generated, opts.mergedTol * maxAbs);
        console.log(`${tag}: fixture check, llama.cpp merged.gguf vs llama.cpp + adapter: ${m.text}`);
        if (!m.ok) failures.push(`prompt ${p}: llama.cpp on merged.gguf differs from llama.cpp + lora.gguf (fixture)`);
    }
}
if (changed === 0) failures.push("the adapter changes no prompt's greedy output: the test could not fail");

if (failures.length > 0) {
    console.log(`[${name}] FAILED: ${failures.join("; ")}`);
    process.exit(1);
}
console.log(`[${name}] PASSED`);
