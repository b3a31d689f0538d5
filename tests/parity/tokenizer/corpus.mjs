// Deterministic tokenizer test corpus: the same seed always gives the same texts.
// Mixes English prose (with contractions in every case), source code, CJK, emoji with
// ZWJ sequences, skin tones and flags, Arabic, Hindi and other scripts, combining marks
// (decomposed text for NFC), whitespace runs, long digit strings and special-token
// look-alikes. Characters come from blocks assigned before Unicode 14, so every
// reference agrees on their categories.

export function rng(seed) {
    // mulberry32
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const WORDS = (
    "the of and to in is you that it he was for on are as with his they I at be this have from or one had by " +
    "word but not what all were we when your can said there use an each which she do how their if will up other " +
    "about out many then them these so some her would make like him into time has look two more write go see " +
    "number no way could people my than first water been call who oil its now find long down day did get come " +
    "made may part over new sound take only little work know place year live me back give most very after thing " +
    "our just name good sentence man think say great where help through much before line right too mean old any " +
    "same tell boy follow came want show also around form three small set put end does another well large must " +
    "Tokenization Llama Qwen GPU CUDA HTTP JSON naïve café résumé coöperate façade jalapeño Zürich São Paulo"
).split(" ");
const CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'x"];
const PUNCT = [".", ",", "!", "?", ";", ":", "...", " -", " —", "(", ")", "\"", "'", "“", "”", "«", "»"];

const CODE = [
    "#include <vector>\nint main(int argc, char** argv) {\n    std::vector<int> v{1, 2, 3};\n    return v.size() > 2 ? 0 : 1;\n}\n",
    "def fib(n):\n\tif n < 2:\n\t\treturn n\n\treturn fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(20)])\n",
    "const x = await fetch(`https://example.com/api?q=${encodeURIComponent(query)}&n=10`);\nif (!x.ok) throw new Error(x.statusText);\n",
    "SELECT id, name FROM users WHERE created_at >= '2024-01-01' AND email LIKE '%@example.org' ORDER BY id DESC;\n",
    "for (size_t i = 0; i < n; ++i) { a[i] += b[i] * c[i]; } // saxpy-ish\r\n",
    "    if (x != nullptr && *x == 0x7fffffff) { return -1; }\n\n\n        // trailing spaces   \n",
    "<div class=\"row\"><span id='a1'>&lt;tag&gt;</span></div>\n",
    "fn main() -> Result<(), Box<dyn Error>> { let s: &str = \"héllo\"; println!(\"{s:?}\"); Ok(()) }\n",
    "x = {'a': [1, 2.5e-3, None], \"b\": (True, False)}\n__init__ self._private __dunder__ a_b_c CamelCase snake_case\n",
];

const SPECIAL_LOOKALIKES = [
    "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>", "<|end_of_text|>", "<|endoftext|>",
    "<|start_header_id|>user<|end_header_id|>", "<s>", "</s>", "<unk>", "<think>", "</think>", "<tool_call>",
    "<|im_sta", "<|im_start", "|im_start|>", "<||>", "< |im_start| >", "<|IM_START|>", "<<|im_start|>>",
    "<|reserved_special_token_17|>", "<|fim_prefix|>", "[INST]", "<<SYS>>", "<0x0A>", "<pad>",
];

const EMOJI = [
    "😀", "😁", "🦙", "🚀", "✅", "❤️", "👍", "👍🏽", "👍🏿", "👨‍👩‍👧‍👦", "👩‍💻", "🧑🏾‍🚀", "🏳️‍🌈", "🏴‍☠️",
    "😶‍🌫️", "❤️‍🔥", "🇫🇷", "🇯🇵", "🇧🇷", "🇺🇳", "1️⃣", "#️⃣", "©️", "™", "🤷‍♀️", "🙆🏻‍♂️", "🐈‍⬛", "👁️‍🗨️",
];

// [first, last] code point ranges of fully assigned letters per script.
const SCRIPTS = {
    han: [[0x4e00, 0x9fa5]],
    hiragana: [[0x3041, 0x3096]],
    katakana: [[0x30a1, 0x30fa]],
    hangul: [[0xac00, 0xd7a3]],
    cyrillic: [[0x0410, 0x044f]],
    greek: [[0x0391, 0x03a9], [0x03b1, 0x03c9]],
    arabic: [[0x0621, 0x063a], [0x0641, 0x064a]],
    hebrew: [[0x05d0, 0x05ea]],
    thai: [[0x0e01, 0x0e2e]],
    devanagari: [[0x0905, 0x0939]],
};
const FIXED = [
    "Ünïcödé ťëxť wïth äccents — “quotes” and ‘single’ ones…",
    "مرحبا بالعالم! هذا نص عربي مع أرقام ١٢٣٤٥ و 67890.",
    "नमस्ते दुनिया! यह हिंदी पाठ है, जिसमें क्षत्रिय और ज्ञान जैसे संयुक्ताक्षर हैं।",
    "你好，世界！这是一个测试。我想在apple工作1314151天～",
    "こんにちは、世界。カタカナとひらがな、漢字を混ぜた文です。",
    "안녕하세요 세계! 한국어 문장입니다.",
    "Привет, мир! Это тест на кириллице.",
    "Γειά σου Κόσμε! Ελληνικό κείμενο.",
    "שלום עולם! זה טקסט בעברית.",
    "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "Cửa Việt, Tiếng Việt có nhiều dấu.",
    "ied 4 ½ months, ¼ cup, x² + y³ = z⁴, ①②③, Ⅻ, 𝟙𝟚𝟛",
];
// Decomposed sequences (NFC composes them) and Hangul jamo that compose to syllables.
const DECOMPOSED = [
    "e\u0301", "a\u0308", "o\u0303", "n\u0303", "A\u030a", "u\u0308\u0304", "i\u0307\u0301", "q\u0307\u0323",
    "\u1100\u1161", "\u1100\u1161\u11a8", "\u1112\u1161\u11ab", "s\u0323\u0307", "\u0915\u093c", "\u00e9\u0301",
];
const SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2009", "\u202f", "\u0085",
    "\u200b", "\ufeff", "\u2028", "\f", "\v"];

function pick(r, list) {
    return list[Math.floor(r() * list.length)];
}

function scriptRun(r, name, length) {
    const ranges = SCRIPTS[name];
    let s = "";
    for (let i = 0; i < length; i++) {
        const [lo, hi] = pick(r, ranges);
        s += String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
    }
    return s;
}

function sentence(r) {
    const n = 3 + Math.floor(r() * 14);
    const words = [];
    for (let i = 0; i < n; i++) {
        let w = pick(r, WORDS);
        const roll = r();
        if (roll < 0.08) w = w.toUpperCase();
        else if (roll < 0.16) w = w[0].toUpperCase() + w.slice(1);
        if (r() < 0.1) w += pick(r, CONTRACTIONS);
        if (r() < 0.12) w += pick(r, PUNCT);
        words.push(w);
    }
    return words.join(" ") + pick(r, [".", "!", "?", "", " ."]);
}

function digits(r) {
    const n = 1 + Math.floor(r() * 60);
    let s = "";
    for (let i = 0; i < n; i++) s += String(Math.floor(r() * 10));
    return pick(r, [s, s + "." + s.slice(0, 3), "-" + s, "$" + s, s.replace(/(\d{3})/g, "$1,"), "0x" + s.slice(0, 8)]);
}

function fragment(r) {
    const kind = r();
    if (kind < 0.3) return sentence(r);
    if (kind < 0.38) return pick(r, CODE);
    if (kind < 0.48) return scriptRun(r, pick(r, Object.keys(SCRIPTS)), 1 + Math.floor(r() * 30));
    if (kind < 0.55) return pick(r, FIXED);
    if (kind < 0.63) {
        let s = "";
        const n = 1 + Math.floor(r() * 6);
        for (let i = 0; i < n; i++) s += pick(r, EMOJI) + (r() < 0.4 ? " " : "");
        return s;
    }
    if (kind < 0.7) return digits(r);
    if (kind < 0.77) return pick(r, SPECIAL_LOOKALIKES);
    if (kind < 0.83) return pick(r, DECOMPOSED) + pick(r, WORDS);
    if (kind < 0.93) {
        let s = "";
        const n = 1 + Math.floor(r() * 4);
        for (let i = 0; i < n; i++) s += pick(r, SPACES).repeat(1 + Math.floor(r() * 12));
        return s;
    }
    // printable ASCII noise
    let s = "";
    const n = 1 + Math.floor(r() * 40);
    for (let i = 0; i < n; i++) s += String.fromCharCode(32 + Math.floor(r() * 95));
    return s;
}

// Texts totalling at least `minBytes` UTF-8 bytes: many short documents, some long ones,
// and a few edge cases.
export function makeCorpus(seed = 20240601, minBytes = 200 * 1024) {
    const r = rng(seed);
    const texts = ["", " ", "  ", "\n", "a", "'s", "I'M", "don't", "   leading", "trailing   ", "x\u0301",
        "<|im_start|>user\nhello<|im_end|>\n", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "9".repeat(200), " ".repeat(300) + "x", "\n".repeat(50), "\t \t \n \n", "😶‍🌫️".repeat(20), "a".repeat(5000)];
    let bytes = 0;
    const enc = new TextEncoder();
    while (bytes < minBytes) {
        const long = r() < 0.05;
        const parts = long ? 60 + Math.floor(r() * 150) : 1 + Math.floor(r() * 8);
        let doc = "";
        for (let i = 0; i < parts; i++) doc += fragment(r) + (r() < 0.5 ? " " : r() < 0.5 ? "\n" : "");
        texts.push(doc);
        bytes += enc.encode(doc).length;
    }
    return texts;
}
