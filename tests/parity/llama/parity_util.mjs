// Small helpers shared by the llama.cpp parity scripts: running the pagoda tools and
// reading what they print.
import {spawnSync} from "node:child_process";
import path from "node:path";

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
