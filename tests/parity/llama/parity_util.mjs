// Small helpers shared by the llama.cpp parity scripts: running the pagoda tools and
// reading what they print.
import {spawnSync} from "node:child_process";
import path from "node:path";
import {parseArgs} from "node:util";

// Command-line flags: spec maps each flag ("--work-dir", "-n") to "string", "number" or
// "boolean"; the values come back camel-cased ("workDir", "n") over `defaults`. Unknown
// flags and missing values throw.
export function parseFlags(argv, spec, defaults = {}) {
    const options = {};
    for (const [flag, kind] of Object.entries(spec)) {
        const name = flag.replace(/^-+/, "");
        options[name] = {type: kind === "boolean" ? "boolean" : "string"};
        if (!flag.startsWith("--")) options[name].short = name;
    }
    // "--flag value" as "--flag=value": values may start with a dash ("--model-args --layers 3").
    const args = [];
    for (let i = 0; i < argv.length; i++) {
        const takesValue = spec[argv[i]] !== undefined && spec[argv[i]] !== "boolean";
        if (takesValue && i + 1 < argv.length) args.push(`--${argv[i].replace(/^-+/, "")}=${argv[++i]}`);
        else args.push(argv[i]);
    }
    const {values} = parseArgs({args, options, strict: true, allowPositionals: false});
    const out = {...defaults};
    for (const [name, value] of Object.entries(values)) {
        const kind = spec[`--${name}`] ?? spec[`-${name}`];
        out[name.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = kind === "number" ? Number(value) : value;
    }
    return out;
}

// Runs a command to completion; its stdout, or an error with its stderr.
export function run(cmd, args) {
    const r = spawnSync(cmd, args, {encoding: "utf8", maxBuffer: 64 << 20});
    if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
    if (r.status !== 0) {
        throw new Error(`${path.basename(cmd)} ${args.join(" ")} exited with ${r.status}:\n${r.stderr}`);
    }
    return r.stdout;
}

// The last non-empty line of space separated integers ("1 2 3").
export function parseIds(text) {
    const lines = text.split("\n").map((l) => l.trim()).filter((l) => /^-?\d+(\s+-?\d+)*$/.test(l));
    if (lines.length === 0) return [];
    return lines[lines.length - 1].split(/\s+/).map(Number);
}

export function logSoftmax(logits) {
    let max = -Infinity;
    for (const l of logits) max = Math.max(max, l);
    let sum = 0;
    for (const l of logits) sum += Math.exp(l - max);
    const lse = max + Math.log(sum);
    return logits.map((l) => l - lse);
}
