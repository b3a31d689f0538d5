// The official `openai` npm client against a running `pagoda serve`: the API must work
// with unchanged client code. Starts the server on a free loopback port (--port 0, the
// port is read from its log), runs one suite, stops it with SIGTERM and expects exit 0.
//
//   node openai_parity.mjs --suite stories --pagoda PATH --model stories260K.gguf
//   node openai_parity.mjs --suite tools --pagoda PATH --make-model PATH --template-config FILE --work-dir DIR
//   node openai_parity.mjs --suite structured --pagoda PATH --model stories260K.gguf
// Exit codes: 0 all checks passed, 1 a check failed, 77 peers or data missing (ctest SKIP).
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const here = path.dirname(fileURLToPath(import.meta.url));
const peers = process.env.PAGODA_PEERS_DIR || path.resolve(here, "../../peers");
let OpenAI;
try {
  const require = createRequire(path.join(peers, "package.json"));
  OpenAI = (await import(pathToFileURL(require.resolve("openai")).href)).default;
} catch (e) {
  console.log(`SKIP: the openai package is missing in ${peers} (npm ci): ${e.message}`);
  process.exit(77);
}

const API_KEY = "pagoda-test-key";
let failures = 0;
function check(cond, what, detail = "") {
  if (cond) {
    console.log(`ok    ${what}`);
  } else {
    failures++;
    console.log(`FAIL  ${what}${detail ? `: ${detail}` : ""}`);
  }
}
async function expectApiError(what, fn, status, extra = () => true) {
  try {
    await fn();
    check(false, what, "no error was raised");
  } catch (e) {
    check(e instanceof OpenAI.APIError && e.status === status && extra(e), what,
          `${e?.constructor?.name} status=${e?.status} param=${e?.param} code=${e?.code} ${e?.message}`);
  }
}

// --- the server ------------------------------------------------------------------------
async function startServer(modelPath, extra = []) {
  const proc = spawn(args.pagoda, ["serve", "--model", modelPath, "--port", "0", "--threads", "1", "--api-key", API_KEY,
                                   "--parallel", "8",
                                   // Each run generates afresh (the default SQLite cache would answer repeats).
                                   "--cache", "off", ...extra], { stdio: ["ignore", "inherit", "pipe"] });
  let log = "";
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pagoda serve did not start:\n${log}`)), 60000);
    proc.stderr.on("data", (d) => {
      log += d.toString();
      process.stderr.write(d);
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on("exit", (code) => reject(new Error(`pagoda serve exited with ${code}:\n${log}`)));
  });
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  return { proc, port, exited };
}

async function stopServer(server) {
  server.proc.kill("SIGTERM");
  const timeout = new Promise((resolve) => setTimeout(() => resolve({ code: "timeout" }), 30000));
  const { code, signal } = await Promise.race([server.exited, timeout]);
  if (code === "timeout") server.proc.kill("SIGKILL");
  check(code === 0, "SIGTERM stops the server with exit code 0", `code=${code} signal=${signal}`);
}

async function kvBlocksUsed(port) {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: `Bearer ${API_KEY}` } });
  const m = (await r.text()).match(/^pagoda_kv_blocks_used\{[^}]*\} (\S+)$/m);
  return m ? Number(m[1]) : NaN;
}

async function waitKvFree(port) {
  for (let i = 0; i < 300; i++) {
    if ((await kvBlocksUsed(port)) === 0) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// --- suites ----------------------------------------------------------------------------
async function storiesSuite(client, port) {
  const model = "stories260K";
  const models = await client.models.list();
  check(models.data.some((m) => m.id === model), "models.list names the model");

  // Chat, not streamed: ChatML fallback (the model ships no template).
  const messages = [{ role: "user", content: "Tell me a story about Lily." }];
  const chat = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0 });
  check(chat.object === "chat.completion" && chat.choices.length === 1, "chat completion shape");
  check(typeof chat.choices[0].message.content === "string" && chat.choices[0].message.role === "assistant",
        "assistant message");
  check(chat.choices[0].finish_reason === "length", "finish_reason length at max_tokens", chat.choices[0].finish_reason);
  check(chat.usage.completion_tokens === 12 && chat.usage.total_tokens === chat.usage.prompt_tokens + 12, "chat usage",
        JSON.stringify(chat.usage));

  // The same, streamed, with usage at the end.
  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true },
  });
  let text = "";
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      text += c.delta?.content ?? "";
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  check(chunks > 2, "chat stream delivers several chunks", String(chunks));
  check(text === chat.choices[0].message.content, "streamed chat text equals the non-streamed one",
        `${JSON.stringify(text)} vs ${JSON.stringify(chat.choices[0].message.content)}`);
  check(finish === "length", "streamed finish_reason");
  check(usage && usage.prompt_tokens === chat.usage.prompt_tokens && usage.completion_tokens === 12,
        "stream_options.include_usage gives exact usage", JSON.stringify(usage));

  // Completions: the known greedy continuation and exact prompt count (BOS + 4 tokens).
  const comp = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
  check(comp.choices[0].text.startsWith(", there was a little girl named Lily"), "greedy completion text",
        JSON.stringify(comp.choices[0].text));
  check(comp.usage.prompt_tokens === 5 && comp.usage.completion_tokens === 20, "completion usage",
        JSON.stringify(comp.usage));

  let streamed = "";
  for await (const chunk of await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 20, temperature: 0, stream: true,
  })) {
    streamed += chunk.choices[0]?.text ?? "";
  }
  check(streamed === comp.choices[0].text, "streamed completion equals the non-streamed one");

  // stop
  const stopped = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 40, temperature: 0, stop: ["Lily"],
  });
  check(stopped.choices[0].text === ", there was a little girl named " && stopped.choices[0].finish_reason === "stop",
        "stop string", JSON.stringify(stopped.choices[0]));

  // n and seed reproducibility
  const sampled = { model, messages, max_tokens: 24, temperature: 1, n: 3, seed: 4242 };
  const a = await client.chat.completions.create(sampled);
  const b = await client.chat.completions.create(sampled);
  const c = await client.chat.completions.create({ ...sampled, seed: 7 });
  const texts = (r) => r.choices.map((ch) => ch.message.content);
  check(a.choices.length === 3 && a.choices.every((ch, i) => ch.index === i), "n = 3 choices, indexed");
  check(JSON.stringify(texts(a)) === JSON.stringify(texts(b)), "same seed, same samples");
  check(JSON.stringify(texts(a)) !== JSON.stringify(texts(c)), "another seed, other samples");
  check(a.usage.completion_tokens === 72, "usage counts every choice", JSON.stringify(a.usage));

  // logprobs
  const lp = await client.chat.completions.create({
    model, messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 2,
  });
  const content = lp.choices[0].logprobs?.content ?? [];
  check(content.length === 5 && content.every((t) => t.logprob <= 0 && t.top_logprobs.length === 2),
        "chat logprobs with top_logprobs", JSON.stringify(content[0]));
  check(content.map((t) => t.token).join("") === lp.choices[0].message.content, "logprob tokens spell the content");
  const clp = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 4, temperature: 0, logprobs: 2 });
  check(clp.choices[0].logprobs?.tokens?.length === 4 && clp.choices[0].logprobs.top_logprobs[0] &&
        Object.keys(clp.choices[0].logprobs.top_logprobs[0]).length === 2, "completion logprobs (legacy shape)");

  // Errors surface as the client's typed APIError.
  await expectApiError("unknown model -> NotFoundError 404",
                       () => client.chat.completions.create({ model: "gpt-4o", messages }), 404,
                       (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found");
  await expectApiError("bad temperature -> BadRequestError 400 naming the param",
                       () => client.chat.completions.create({ model, messages, temperature: 5 }), 400,
                       (e) => e instanceof OpenAI.BadRequestError && e.param === "temperature");
  await expectApiError("wrong type -> 400 naming the param",
                       () => client.completions.create({ model, prompt: "x", max_tokens: "ten" }), 400,
                       (e) => e.param === "max_tokens");
  await expectApiError("streamed request with a bad param -> 400 before any chunk",
                       async () => { for await (const _ of await client.chat.completions.create({ model, messages: [], stream: true })) {} },
                       400, (e) => e.param === "messages");
  const wrongKey = new OpenAI({ apiKey: "nope", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
  await expectApiError("wrong API key -> AuthenticationError 401", () => wrongKey.models.list(), 401,
                       (e) => e instanceof OpenAI.AuthenticationError);

  // A client that aborts mid-stream frees its KV blocks.
  const long = await client.completions.create({
    model, prompt: "Once upon a time", max_tokens: 1500, stream: true, ignore_eos: true,
  });
  let got = 0;
  for await (const chunk of long) {
    if (++got === 3) {
      long.controller.abort();
      break;
    }
  }
  check(await waitKvFree(port), "aborted stream frees its KV blocks");
}

const QWEN_TOOLS = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
}];

async function toolsSuite(client) {
  const model = "qwen3-tools";
  const messages = [{ role: "user", content: "What is the weather in Paris?" }];
  const plain = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 0 });
  const withTools = await client.chat.completions.create({ model, messages, tools: QWEN_TOOLS, max_tokens: 8, temperature: 0 });
  check(withTools.usage.prompt_tokens > plain.usage.prompt_tokens + 30, "tool definitions reach the prompt",
        `${plain.usage.prompt_tokens} -> ${withTools.usage.prompt_tokens}`);
  const choice = withTools.choices[0];
  check(["stop", "length", "tool_calls"].includes(choice.finish_reason), "finish_reason with tools", choice.finish_reason);
  if (choice.message.tool_calls) {
    check(choice.message.tool_calls.every((t) => t.type === "function" && typeof t.function.arguments === "string"),
          "tool_calls are well-formed");
  }
  const none = await client.chat.completions.create({ model, messages, tools: QWEN_TOOLS, tool_choice: "none", max_tokens: 4 });
  check(none.usage.prompt_tokens === plain.usage.prompt_tokens, "tool_choice none leaves tools out of the prompt");

  // Round trip: the assistant's call and the tool's result go back to the model.
  const turn2 = [
    ...messages,
    { role: "assistant", content: null, tool_calls: [{ id: "call_abc", type: "function",
      function: { name: "get_weather", arguments: JSON.stringify({ city: "Paris" }) } }] },
    { role: "tool", tool_call_id: "call_abc", content: "sunny, 21 C" },
  ];
  const answer = await client.chat.completions.create({ model, messages: turn2, tools: QWEN_TOOLS, max_tokens: 8, temperature: 0 });
  check(answer.usage.prompt_tokens > withTools.usage.prompt_tokens, "tool call and result are rendered into the prompt",
        `${withTools.usage.prompt_tokens} -> ${answer.usage.prompt_tokens}`);
  let chunks = 0;
  for await (const chunk of await client.chat.completions.create({
    model, messages: turn2, tools: QWEN_TOOLS, max_tokens: 8, temperature: 0, stream: true,
  })) {
    chunks++;
    for (const c of chunk.choices) {
      for (const t of c.delta?.tool_calls ?? []) {
        check(typeof t.index === "number" && t.function?.name, "streamed tool_call delta is well-formed");
      }
    }
  }
  check(chunks > 1, "streaming with tools works");
  await expectApiError("tool_choice naming an unknown function -> 400",
                       () => client.chat.completions.create({ model, messages, tools: QWEN_TOOLS,
                         tool_choice: { type: "function", function: { name: "nope" } } }), 400);
  await expectApiError("json_schema response_format with an unsupported keyword (pattern) -> 400",
                       () => client.chat.completions.create({ model, messages, response_format: { type: "json_schema",
                         json_schema: { name: "x", schema: { type: "string", pattern: "^a+$" } } } }), 400,
                       (e) => e.param === "response_format");

  // tool_choice "required" / a named function: the reply is a call, whatever the (random) model
  // would say, to an allowed function, with arguments valid under its parameters schema.
  const ajv = await loadAjv();
  const schemas = Object.fromEntries(FORCED_TOOLS.map((t) => [t.function.name, ajv.compile(t.function.parameters)]));
  for (const [tool_choice, allowed] of [["required", ["get_weather", "add"]],
                                        [{ type: "function", function: { name: "add" } }, ["add"]]]) {
    const forced = await client.chat.completions.create({ model, messages, tools: FORCED_TOOLS, tool_choice,
      parallel_tool_calls: false, temperature: 0.9, seed: 7, n: 3, max_tokens: 200 });
    for (const c of forced.choices) {
      check(c.finish_reason === "tool_calls", `tool_choice ${JSON.stringify(tool_choice)} ends in a call`, c.finish_reason);
      const calls = c.message.tool_calls ?? [];
      check(calls.length === 1, "parallel_tool_calls false: exactly one call", JSON.stringify(calls));
      for (const t of calls) {
        check(allowed.includes(t.function.name), "the call is to an allowed function", t.function.name);
        const validate = schemas[t.function.name];
        check(validate && validate(JSON.parse(t.function.arguments)), "the arguments satisfy the parameters schema",
              t.function.arguments + " " + JSON.stringify(validate?.errors));
      }
    }
  }
  await expectApiError("tool_choice required with a json_object response_format -> 400",
                       () => client.chat.completions.create({ model, messages, tools: FORCED_TOOLS,
                         tool_choice: "required", response_format: { type: "json_object" } }), 400,
                       (e) => e.param === "tool_choice");
}

// Bounded strings and integers keep a random-weight model's calls short.
const FORCED_TOOLS = [
  { type: "function", function: { name: "get_weather", parameters: { type: "object",
    properties: { city: { type: "string", maxLength: 16 }, unit: { enum: ["c", "f"] } },
    required: ["city", "unit"], additionalProperties: false } } },
  { type: "function", function: { name: "add", parameters: { type: "object",
    properties: { a: { type: "integer", minimum: -999, maximum: 999 }, b: { type: "integer", minimum: 0, maximum: 99 } },
    required: ["a", "b"], additionalProperties: false } } },
];

// --- structured output (response_format, grammar) ------------------------------------------
// OpenAI strict-mode shape: a nested object, an enum, an integer, a boolean, an array of
// strings with maxItems and one optional property (nickname). Strings are bounded so a small
// model at temperature 0.8 usually closes the object within max_tokens.
const STRUCTURED_SCHEMA = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 16 },
    age: { type: "integer" },
    mood: { type: "string", enum: ["happy", "sad", "sleepy"] },
    has_pet: { type: "boolean" },
    friends: { type: "array", items: { type: "string", maxLength: 12 }, maxItems: 3 },
    home: {
      type: "object",
      properties: { town: { type: "string", maxLength: 12 }, floor: { type: "integer" } },
      required: ["town", "floor"],
      additionalProperties: false,
    },
    nickname: { type: "string", maxLength: 8 },
  },
  required: ["name", "age", "mood", "has_pet", "friends", "home"],
  additionalProperties: false,
};

async function loadAjv() {
  const require = createRequire(path.join(peers, "package.json"));
  const mod = await import(pathToFileURL(require.resolve("ajv")).href);
  const Ajv = mod.default?.default ?? mod.default;
  return new Ajv({ strict: true, allErrors: true });
}

// llama.cpp's grammar-constrained greedy text for BOS + prompt, when node-llama-cpp is there.
async function llamaGrammarGreedy(modelPath, prompt, gbnf, n) {
  let llamaCpp;
  try {
    const require = createRequire(path.join(peers, "package.json"));
    llamaCpp = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);
  } catch {
    return null;
  }
  const { getLlama, LlamaLogLevel, LlamaGrammarEvaluationState } = llamaCpp;
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const context = await model.createContext({ contextSize: 256, threads: { ideal: 1, min: 1 }, sequences: 1,
                                                flashAttention: false });
    const grammarEvaluationState = new LlamaGrammarEvaluationState({ model, grammar: await llama.createGrammar({ grammar: gbnf }) });
    const tokens = [];
    let stopped = false;
    const promptTokens = [model.tokens.bos, ...model.tokenize(prompt)];
    for await (const t of context.getSequence().evaluate(promptTokens,
                                                         { temperature: 0, grammarEvaluationState, yieldEogToken: true })) {
      if (model.isEogToken(t)) {
        stopped = true;
        break;
      }
      tokens.push(t);
      if (tokens.length >= n) break;
    }
    await context.dispose();
    return { text: model.detokenize(tokens, false, promptTokens), stopped };
  } finally {
    await model.dispose();
    await llama.dispose();
  }
}

async function structuredSuite(client, modelPath) {
  const model = "stories260K";
  const ajv = await loadAjv();
  const validate = ajv.compile(STRUCTURED_SCHEMA);
  const messages = [{ role: "user", content: "Describe Lily as JSON." }];
  const jsonSchemaFormat = { type: "json_schema", json_schema: { name: "person", schema: STRUCTURED_SCHEMA, strict: true } };
  const finishes = (r) => r.choices.map((c) => c.finish_reason).join(",");

  // json_schema, sampled: every choice that stopped parses and validates.
  const base = { model, messages, response_format: jsonSchemaFormat, temperature: 0.8, max_tokens: 300, n: 3 };
  let stopped = 0;
  let invalid = 0;
  const bySeed = new Map();
  for (const seed of [11, 22, 33]) {
    const r = await client.chat.completions.create({ ...base, seed });
    bySeed.set(seed, r);
    check(r.choices.length === 3, `json_schema seed ${seed}: n = 3 choices`, finishes(r));
    for (const c of r.choices) {
      check(["stop", "length"].includes(c.finish_reason), `json_schema seed ${seed} choice ${c.index}: finish_reason`,
            c.finish_reason);
      if (c.finish_reason !== "stop") continue;
      stopped++;
      let value;
      try {
        value = JSON.parse(c.message.content);
      } catch (e) {
        invalid++;
        check(false, `json_schema seed ${seed} choice ${c.index}: JSON.parse`, `${e.message}: ${JSON.stringify(c.message.content)}`);
        continue;
      }
      if (!validate(value)) {
        invalid++;
        check(false, `json_schema seed ${seed} choice ${c.index}: ajv validates`,
              `${ajv.errorsText(validate.errors)}: ${c.message.content}`);
      }
    }
  }
  check(stopped > 0 && invalid === 0, `json_schema: all ${stopped}/9 stopped choices parse and validate (ajv)`,
        `${invalid} invalid`);
  console.log(`      e.g. ${JSON.stringify(bySeed.get(11).choices.find((c) => c.finish_reason === "stop")?.message.content ?? null)}`);

  const again = await client.chat.completions.create({ ...base, seed: 11 });
  const contents = (r) => JSON.stringify(r.choices.map((c) => [c.message.content, c.finish_reason]));
  check(contents(again) === contents(bySeed.get(11)), "json_schema: same seed, same choices");
  check(contents(bySeed.get(22)) !== contents(bySeed.get(11)), "json_schema: another seed, other choices");

  // Streamed with the same seed: the concatenated deltas per choice are the same text.
  const streamed = new Map();
  const streamFinish = new Map();
  for await (const chunk of await client.chat.completions.create({ ...base, seed: 22, stream: true })) {
    for (const c of chunk.choices) {
      streamed.set(c.index, (streamed.get(c.index) ?? "") + (c.delta?.content ?? ""));
      if (c.finish_reason) streamFinish.set(c.index, c.finish_reason);
    }
  }
  const nonStream = bySeed.get(22);
  for (const c of nonStream.choices) {
    check(streamed.get(c.index) === c.message.content && streamFinish.get(c.index) === c.finish_reason,
          `json_schema stream choice ${c.index}: deltas == non-streamed text (${c.finish_reason})`,
          `${JSON.stringify(streamed.get(c.index))} (${streamFinish.get(c.index)}) vs ${JSON.stringify(c.message.content)}`);
    if (streamFinish.get(c.index) === "stop") {
      let ok = false;
      try {
        ok = validate(JSON.parse(streamed.get(c.index)));
      } catch {}
      check(ok, `json_schema stream choice ${c.index}: streamed JSON validates`);
    }
  }

  // json_object: any JSON object. stories260K writes stories into JSON keys and rarely closes
  // one, so a logit_bias on its '"' (436) and '}' (128, the byte token <0x7D>) pieces makes
  // most choices stop; every one that does must parse as an object.
  let objects = 0;
  for (const seed of [5, 6]) {
    const r = await client.chat.completions.create({ model, messages, response_format: { type: "json_object" },
                                                     temperature: 0.8, max_tokens: 300, n: 6, seed,
                                                     logit_bias: { 436: 5, 128: 8 } });
    for (const c of r.choices) {
      check(c.message.content.startsWith("{"), `json_object seed ${seed} choice ${c.index}: starts an object`,
            JSON.stringify(c.message.content));
      if (c.finish_reason !== "stop") continue;
      let value;
      try {
        value = JSON.parse(c.message.content);
      } catch (e) {
        check(false, `json_object seed ${seed} choice ${c.index}: JSON.parse`, `${e.message}: ${JSON.stringify(c.message.content)}`);
        continue;
      }
      const isObject = value !== null && typeof value === "object" && !Array.isArray(value);
      check(isObject, `json_object seed ${seed} choice ${c.index}: an object`, c.message.content);
      if (isObject) objects++;
    }
  }
  check(objects > 0, `json_object: ${objects}/12 choices stopped with a JSON object`);

  // A tiny max_tokens cuts the JSON: finish_reason length, a prefix of an object.
  const cut = await client.chat.completions.create({ model, messages, response_format: jsonSchemaFormat,
                                                     temperature: 0, max_tokens: 4 });
  check(cut.choices[0].finish_reason === "length" && cut.choices[0].message.content.startsWith("{") &&
        cut.usage.completion_tokens === 4, "json_schema with max_tokens 4: finish_reason length, a cut-off object",
        JSON.stringify(cut.choices[0]));

  // /v1/completions with llama-server's `grammar` extension; at temperature 0 the text is
  // llama.cpp's grammar-constrained greedy text for the same prompt.
  const gbnf = 'root ::= " " name " " verb " " ("a" | "the") " " [a-z]{2,8} "."\n' +
               'name ::= "Lily" | "Tom" | "Ben" | "Sue"\nverb ::= "saw" | "had" | "liked" | "found"\n';
  const shape = /^ (Lily|Tom|Ben|Sue) (saw|had|liked|found) (a|the) [a-z]{2,8}\.$/;
  const comp = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 40, temperature: 0, grammar: gbnf });
  check(comp.choices[0].finish_reason === "stop" && shape.test(comp.choices[0].text), "completions + grammar: text follows it",
        JSON.stringify(comp.choices[0]));
  const ref = await llamaGrammarGreedy(modelPath, "Once upon a time", gbnf, 40);
  if (ref) {
    check(ref.stopped && ref.text === comp.choices[0].text, "completions + grammar at temperature 0 == llama.cpp's text",
          `${JSON.stringify(comp.choices[0].text)} vs llama.cpp ${JSON.stringify(ref.text)}`);
  }
  const sampledComp = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 40,
                                                        temperature: 0.8, n: 3, seed: 9, grammar: gbnf });
  check(sampledComp.choices.every((c) => c.finish_reason === "stop" && shape.test(c.text)),
        "completions + grammar, sampled n = 3: each follows it", JSON.stringify(sampledComp.choices.map((c) => c.text)));
  let streamedComp = "";
  for await (const chunk of await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 40,
                                                              temperature: 0, grammar: gbnf, stream: true })) {
    streamedComp += chunk.choices[0]?.text ?? "";
  }
  check(streamedComp === comp.choices[0].text, "completions + grammar streamed == non-streamed");

  // response_format on /v1/completions too.
  const compSchema = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 300, temperature: 0,
                                                       response_format: jsonSchemaFormat });
  let compValue = null;
  try {
    compValue = JSON.parse(compSchema.choices[0].text);
  } catch {}
  check(compSchema.choices[0].finish_reason === "stop" && compValue !== null && validate(compValue),
        "completions + response_format json_schema: stops with valid JSON", JSON.stringify(compSchema.choices[0]));

  // Errors name the parameter.
  await expectApiError("grammar and response_format together -> 400 param grammar",
                       () => client.completions.create({ model, prompt: "x", max_tokens: 4, grammar: gbnf,
                                                         response_format: { type: "json_object" } }), 400,
                       (e) => e.param === "grammar");
  const patternSchema = { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]{3}$" } }, required: ["code"],
                          additionalProperties: false };
  await expectApiError("json_schema with pattern -> 400 param response_format",
                       () => client.chat.completions.create({ model, messages, max_tokens: 8, response_format:
                         { type: "json_schema", json_schema: { name: "code", schema: patternSchema, strict: true } } }), 400,
                       (e) => e instanceof OpenAI.BadRequestError && e.param === "response_format");
  await expectApiError("streamed json_schema with pattern -> 400 before any chunk",
                       async () => { for await (const _ of await client.chat.completions.create({ model, messages, stream: true,
                         response_format: { type: "json_schema", json_schema: { name: "code", schema: patternSchema } } })) {} },
                       400, (e) => e.param === "response_format");
  await expectApiError("GBNF syntax error -> 400 param grammar",
                       () => client.completions.create({ model, prompt: "x", max_tokens: 4, grammar: 'root ::= "unterminated' }), 400,
                       (e) => e instanceof OpenAI.BadRequestError && e.param === "grammar");
  await expectApiError("GBNF with an undefined rule -> 400 param grammar",
                       () => client.chat.completions.create({ model, messages, max_tokens: 4, grammar: "root ::= missing-rule\n" }), 400,
                       (e) => e.param === "grammar");
  await expectApiError("left-recursive GBNF -> 400 param grammar",
                       () => client.completions.create({ model, prompt: "x", max_tokens: 4, grammar: 'root ::= root "a" | "a"\n' }), 400,
                       (e) => e.param === "grammar");
}

// --- main ------------------------------------------------------------------------------
let modelPath;
if (args.suite === "stories") {
  modelPath = args.model;
  if (!modelPath || !existsSync(modelPath)) {
    console.log(`SKIP: ${modelPath} missing (shared/README.md)`);
    process.exit(77);
  }
} else if (args.suite === "structured") {
  modelPath = args.model;
  if (!modelPath || !existsSync(modelPath)) {
    console.log(`SKIP: ${modelPath} missing (shared/README.md)`);
    process.exit(77);
  }
  try {
    createRequire(path.join(peers, "package.json")).resolve("ajv");
  } catch (e) {
    console.log(`SKIP: the ajv package is missing in ${peers} (npm ci): ${e.message}`);
    process.exit(77);
  }
} else if (args.suite === "tools") {
  if (!existsSync(args["template-config"] ?? "")) {
    console.log(`SKIP: ${args["template-config"]} missing (npm ci in tests/peers)`);
    process.exit(77);
  }
  mkdirSync(args["work-dir"], { recursive: true });
  modelPath = path.join(args["work-dir"], "qwen3-tools.gguf");
  execFileSync(args["make-model"], ["--template-config", args["template-config"], modelPath], { stdio: "inherit" });
} else {
  console.error("usage: openai_parity.mjs --suite stories|tools|structured ...");
  process.exit(2);
}

const server = await startServer(modelPath);
const client = new OpenAI({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${server.port}/v1`, maxRetries: 0 });
try {
  if (args.suite === "stories") await storiesSuite(client, server.port);
  else if (args.suite === "structured") await structuredSuite(client, modelPath);
  else await toolsSuite(client);
} catch (e) {
  check(false, "suite ran to the end", e.stack ?? String(e));
}
await stopServer(server);
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
