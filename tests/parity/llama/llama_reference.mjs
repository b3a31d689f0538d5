// Runs llama.cpp (through node-llama-cpp, CPU build) on a GGUF and prints, as JSON:
// the prompt's token ids, the first N greedy tokens, and the log-probabilities of the
// next token at the last prompt position.
//
// Why log-probabilities and not logits: node-llama-cpp 3.21.1 exposes no raw-logits
// call. Its sampleToken(..., probabilities=true) path (llama/addon/AddonContext.cpp)
// copies the full-vocabulary candidate array, which the greedy-only sampler chain
// leaves untouched (temperature 0 builds a chain of just llama_sampler_init_greedy),
// and returns softmax(logits) in float32. log(p_i) = logit_i - logsumexp(logits), so
// the logits are recovered up to one additive constant, exactly to ~1e-7 wherever p_i
// has not underflowed (logit_i - max > ~-87); underflowed entries are reported as null.
// Sampling is greedy, so no seed is involved (createContext takes none; the sampler's
// seed only feeds temperature sampling).
//
// usage: node llama_reference.mjs --model PATH (--prompt TEXT | --prompt-ids "1 2 3")
//        [-n 32] [--threads N] [--no-bos] [--ctx 256] [--flash-attention on|off]
// node-llama-cpp is loaded from $PAGODA_PEERS_DIR (default tests/peers).
import {importPeer} from "./load_peer.mjs";

const {getLlama, LlamaLogLevel} = await importPeer("node-llama-cpp");

function parseArgs(argv) {
    const opts = {n: 32, threads: 2, bos: true, ctx: 256};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
            return argv[++i];
        };
        if (a === "--model") opts.model = next();
        else if (a === "--prompt") opts.prompt = next();
        else if (a === "--prompt-ids") opts.promptIds = next().trim().split(/\s+/).filter(Boolean).map(Number);
        else if (a === "-n") opts.n = Number(next());
        else if (a === "--threads") opts.threads = Number(next());
        else if (a === "--ctx") opts.ctx = Number(next());
        else if (a === "--no-bos") opts.bos = false;
        else if (a === "--flash-attention") opts.flashAttention = next() === "on";
        else throw new Error(`unknown argument ${a}`);
    }
    if (!opts.model) throw new Error("--model is required");
    if (opts.prompt === undefined && !opts.promptIds) throw new Error("--prompt or --prompt-ids is required");
    return opts;
}

// Evaluates promptTokens on a fresh one-sequence context of a loaded llama.cpp model and
// generates opts.n greedy tokens, optionally with opts.lora = {path, scale} on the context.
// Returns {generated, logprobs, step_top}: logprobs is the full next-token log-distribution
// at the last prompt position, step_top[i] the 8 most likely [id, logprob] pairs at
// generation step i. Generation continues past EOS (the caller truncates).
export async function greedyRun(model, promptTokens, opts) {
    const ctx = opts.ctx ?? 256;
    const context = await model.createContext({
        contextSize: ctx,
        batchSize: Math.min(ctx, 512),
        threads: {ideal: opts.threads ?? 2, min: opts.threads ?? 2},
        sequences: 1,
        // Off by default: llama.cpp's CPU flash-attention kernel accumulates V in F16,
        // which moves logits by ~1e-3 of their range on these models (measured against
        // a float64 forward); the regular path is within ~3e-4 of it, like Pagoda.
        flashAttention: opts.flashAttention ?? false,
        ...(opts.lora ? {lora: {adapters: [{filePath: opts.lora.path, scale: opts.lora.scale}]}} : {}),
    });
    const sequence = context.getSequence();
    const generated = [];
    let logprobs = null;
    // temperature 0: node-llama-cpp's sampler chain is greedy only, so the
    // probabilities are softmax of the untouched logits.
    const it = sequence.evaluateWithMetadata(promptTokens, {probabilities: true},
                                             {temperature: 0, yieldEogToken: true});
    const stepTop = [];
    for await (const out of it) {
        if (logprobs === null) {
            let maxId = 0;
            for (const id of out.probabilities.keys()) maxId = Math.max(maxId, id);
            logprobs = new Array(maxId + 1).fill(null);
            for (const [id, p] of out.probabilities) logprobs[id] = p > 0 ? Math.log(p) : null;
        }
        // The map is sorted by probability: keep each step's top candidates, so a
        // caller can tell a near-tie from a real disagreement.
        const top = [];
        for (const [id, p] of out.probabilities) {
            if (top.length >= 8 || p <= 0) break;
            top.push([id, Math.log(p)]);
        }
        stepTop.push(top);
        generated.push(out.token);
        if (generated.length >= (opts.n ?? 32)) break;
    }
    await context.dispose();
    return {generated, logprobs, step_top: stepTop};
}

// Loads the model with llama.cpp, evaluates the prompt (BOS first unless opts.bos is
// false) and generates opts.n greedy tokens (greedyRun). Returns {prompt_tokens,
// text_tokens, generated, logprobs, step_top}.
export async function runReference(opts) {
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
    const model = await llama.loadModel({modelPath: opts.model, gpuLayers: 0});
    try {
        let promptTokens = opts.promptIds ?? Array.from(model.tokenize(opts.prompt, false));
        const textTokens = opts.promptIds ? null : [...promptTokens];
        if ((opts.bos ?? true) && model.tokens.bos != null) promptTokens = [model.tokens.bos, ...promptTokens];
        const run = await greedyRun(model, promptTokens, opts);
        return {prompt_tokens: promptTokens, text_tokens: textTokens, ...run};
    } finally {
        await model.dispose();
        await llama.dispose();
    }
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const result = await runReference(parseArgs(process.argv.slice(2)));
    console.log(JSON.stringify(result));
}
