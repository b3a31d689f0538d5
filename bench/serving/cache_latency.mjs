// Response-cache latency: for each of N distinct greedy prompts, one request that
// generates (x-pagoda-cache: miss) and the same request again (hit); reports the end-to-end
// latency of both (mean, p50, p99) and their ratio, for whole responses and for streams
// (time to the last byte). Node 20, no dependencies.
//   node cache_latency.mjs --base-url http://127.0.0.1:8080 --model NAME [--requests 20]
//        [--max-tokens 64] [--json]
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const base = args["base-url"] ?? "http://127.0.0.1:8080";
const model = args.model;
const n = Number(args.requests ?? 20);
const maxTokens = Number(args["max-tokens"] ?? 64);
const words = ["river", "castle", "robot", "garden", "winter", "dragon", "library", "ocean", "forest", "market"];

async function timed(body) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/completions`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const text = await res.text();  // to the last byte, streamed or not
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text.slice(0, 200)}`);
  return { ms, cache: res.headers.get("x-pagoda-cache") ?? "", text };
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { mean: s.reduce((a, b) => a + b, 0) / s.length, p50: q(0.5), p99: q(0.99) };
}

const run = Date.now();  // fresh prompts each run, so the first request is a real miss
const rows = { fresh: [], hit: [], fresh_stream: [], hit_stream: [] };
for (let i = 0; i < n; ++i) {
  for (const stream of [false, true]) {
    const prompt = `Run ${run} ${stream ? "s" : "b"}${i}: once upon a time a ${words[i % words.length]}`;
    const body = { model, prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream };
    const miss = await timed(body);
    const hit = await timed(body);
    if (miss.cache !== "miss" || hit.cache !== "hit") {
      throw new Error(`expected miss then hit, got '${miss.cache}' then '${hit.cache}' (is --cache off?)`);
    }
    if (!stream && JSON.parse(miss.text).choices[0].text !== JSON.parse(hit.text).choices[0].text) {
      throw new Error("a hit answered with other text than the generation");
    }
    rows[stream ? "fresh_stream" : "fresh"].push(miss.ms);
    rows[stream ? "hit_stream" : "hit"].push(hit.ms);
  }
}
const out = {};
for (const [k, v] of Object.entries(rows)) out[k] = stats(v);
out.ratio = out.fresh.mean / out.hit.mean;
out.ratio_stream = out.fresh_stream.mean / out.hit_stream.mean;
if (args.json === "true" || process.argv.includes("--json")) {
  console.log(JSON.stringify({ requests: n, max_tokens: maxTokens, ...out }));
} else {
  const f = (x) => x.toFixed(2).padStart(9);
  console.log(`${n} prompts x ${maxTokens} tokens (greedy), end-to-end latency in ms`);
  console.log(`                      mean       p50       p99`);
  for (const [label, k] of [["fresh generation", "fresh"], ["cache hit", "hit"], ["fresh, streamed", "fresh_stream"],
                            ["cache hit, streamed", "hit_stream"]]) {
    console.log(`${label.padEnd(20)}${f(out[k].mean)} ${f(out[k].p50)} ${f(out[k].p99)}`);
  }
  console.log(`fresh / hit: ${out.ratio.toFixed(1)}x (streamed: ${out.ratio_stream.toFixed(1)}x)`);
}
