// Serving benchmark in the manner of vLLM's benchmark_serving: streams /v1/completions
// requests with random input/output lengths at a fixed concurrency (or a Poisson request
// rate) against any OpenAI-compatible server and reports request throughput, output
// tokens/s, and TTFT, TPOT and ITL (mean, p50, p99). A figure, not a test.
//
//   node bench/serving/serving_bench.mjs --base-url http://127.0.0.1:8080 --model NAME
//        [--concurrency 8] [--num-prompts 64] [--request-rate inf] [--input-len 128]
//        [--output-len 128] [--range-ratio 0.5] [--seed 0] [--api-key KEY] [--json]
//
// Prompts are random words; their exact token counts come back in usage. Output lengths
// are exact: ignore_eos with max_tokens, as vLLM's random dataset does. Node 20+, no
// dependencies (fetch).
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const baseUrl = (args["base-url"] ?? "http://127.0.0.1:8080").replace(/\/$/, "");
const model = args.model ?? "";
const concurrency = Number(args.concurrency ?? 8);
const numPrompts = Number(args["num-prompts"] ?? Math.max(4 * concurrency, 16));
const requestRate = args["request-rate"] === undefined || args["request-rate"] === "inf" ? Infinity : Number(args["request-rate"]);
const inputLen = Number(args["input-len"] ?? 128);
const outputLen = Number(args["output-len"] ?? 128);
const rangeRatio = Number(args["range-ratio"] ?? 0.5);
const apiKey = args["api-key"] ?? process.env.PAGODA_API_KEY ?? "";
if (!model) {
  console.error("serving_bench: --model is required");
  process.exit(2);
}

// Seeded PRNG (mulberry32) so a seed names the same workload.
let state = Number(args.seed ?? 0) >>> 0;
function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const WORDS = "the a little girl named Lily loved to play outside in park one day she saw big red ball wanted it but was too high Tom dog cat tree sun happy friend went home smiled".split(" ");

const requests = [];
for (let i = 0; i < numPrompts; i++) {
  const inLen = randInt(Math.max(1, Math.floor(inputLen * (1 - rangeRatio))), Math.ceil(inputLen * (1 + rangeRatio)));
  const outLen = randInt(Math.max(1, Math.floor(outputLen * (1 - rangeRatio))), Math.ceil(outputLen * (1 + rangeRatio)));
  const words = [];
  for (let w = 0; w < inLen; w++) words.push(WORDS[randInt(0, WORDS.length - 1)]);
  requests.push({ prompt: words.join(" "), maxTokens: outLen });
}

async function runOne(req) {
  const start = performance.now();
  const r = { ok: false, ttft: 0, itl: [], e2e: 0, promptTokens: 0, outputTokens: 0, error: "" };
  try {
    const res = await fetch(`${baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(apiKey ? { Authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify({
        model, prompt: req.prompt, max_tokens: req.maxTokens, temperature: 0, ignore_eos: true, stream: true,
        stream_options: { include_usage: true },
      }),
    });
    if (!res.ok) {
      r.error = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
      return r;
    }
    const decoder = new TextDecoder();
    let buf = "";
    let last = 0;
    for await (const bytes of res.body) {
      buf += decoder.decode(bytes, { stream: true });
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, end);
        buf = buf.slice(end + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6);
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.usage) {
          r.promptTokens = chunk.usage.prompt_tokens;
          r.outputTokens = chunk.usage.completion_tokens;
        }
        if (chunk.choices?.[0]?.text) {
          const now = performance.now();
          if (!r.ttft) r.ttft = now - start;
          else r.itl.push(now - last);
          last = now;
        }
      }
    }
    r.e2e = performance.now() - start;
    r.ok = true;
  } catch (e) {
    r.error = String(e);
  }
  return r;
}

function pct(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const mean = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);

const results = [];
const benchStart = performance.now();
let next = 0;
let nextRelease = benchStart;
async function worker() {
  while (next < requests.length) {
    const req = requests[next++];
    if (Number.isFinite(requestRate)) {
      // Poisson arrivals: exponential gaps between request releases.
      nextRelease += (-Math.log(1 - rand()) / requestRate) * 1000;
      const wait = nextRelease - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    results.push(await runOne(req));
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
const duration = (performance.now() - benchStart) / 1000;

const ok = results.filter((r) => r.ok);
const failed = results.length - ok.length;
const outTokens = ok.reduce((a, r) => a + r.outputTokens, 0);
const inTokens = ok.reduce((a, r) => a + r.promptTokens, 0);
const ttft = ok.map((r) => r.ttft);
const tpot = ok.filter((r) => r.outputTokens > 1).map((r) => (r.e2e - r.ttft) / (r.outputTokens - 1));
const itl = ok.flatMap((r) => r.itl);
const summary = {
  base_url: baseUrl, model, concurrency, request_rate: requestRate, num_prompts: numPrompts, failed,
  duration_s: duration, total_input_tokens: inTokens, total_output_tokens: outTokens,
  request_throughput: ok.length / duration, output_throughput: outTokens / duration,
  total_token_throughput: (inTokens + outTokens) / duration,
  ttft_ms: { mean: mean(ttft), p50: pct(ttft, 50), p99: pct(ttft, 99) },
  tpot_ms: { mean: mean(tpot), p50: pct(tpot, 50), p99: pct(tpot, 99) },
  itl_ms: { mean: mean(itl), p50: pct(itl, 50), p99: pct(itl, 99) },
};
if (args.json !== undefined) {
  console.log(JSON.stringify(summary));
} else {
  const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : "n/a");
  console.log(`============ Serving Benchmark Result ============`);
  console.log(`Model / concurrency / rate:        ${model} / ${concurrency} / ${requestRate}`);
  console.log(`Successful / failed requests:      ${ok.length} / ${failed}`);
  console.log(`Benchmark duration (s):            ${f(duration)}`);
  console.log(`Total input / output tokens:       ${inTokens} / ${outTokens}`);
  console.log(`Request throughput (req/s):        ${f(summary.request_throughput)}`);
  console.log(`Output token throughput (tok/s):   ${f(summary.output_throughput)}`);
  console.log(`Total token throughput (tok/s):    ${f(summary.total_token_throughput)}`);
  for (const [name, m] of [["TTFT", summary.ttft_ms], ["TPOT", summary.tpot_ms], ["ITL", summary.itl_ms]]) {
    console.log(`${(name + " mean / p50 / p99 (ms):").padEnd(35)}${f(m.mean)} / ${f(m.p50)} / ${f(m.p99)}`);
  }
  if (failed) console.log(`first error: ${results.find((r) => !r.ok).error}`);
}
process.exit(failed ? 1 : 0);
