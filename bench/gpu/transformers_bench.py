#!/usr/bin/env python3
"""Hugging Face transformers' generate() on the shape pagoda-gpu-bench measures.

The peer figure for issue 7's GPU benchmark: a Llama-3-8B-shaped LlamaForCausalLM with
random BF16 weights (no download: the config is written here), greedy decode of
--tokens new tokens after a --ctx token prompt, at each --batch, with the same figures
pagoda-gpu-bench prints (decode tok/s aggregate, ms per step, prefill time). Decode time
is generate(ctx + tokens) minus generate(ctx + 1), so prefill is not counted twice.

  python3 bench/gpu/transformers_bench.py [--batch 1 8 32] [--ctx 512] [--tokens 64] [--layers 32]

Needs torch with CUDA and transformers (present on the GPU machines this project uses).
"""
import argparse
import json
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--json", help="append one JSON line per batch size here")
    args = ap.parse_args()

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if not torch.cuda.is_available():
        print("SKIP transformers bench: no CUDA device")
        return 2
    cfg = LlamaConfig(hidden_size=4096, intermediate_size=14336, num_hidden_layers=args.layers,
                      num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
                      max_position_embeddings=8192, rope_theta=500000.0, torch_dtype="bfloat16")
    torch.manual_seed(0)
    t0 = time.time()
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.eval()
    # Small weights keep activations finite with random init.
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
    torch.cuda.synchronize()
    print(f"transformers: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"model built in {time.time() - t0:.1f} s, {sum(p.numel() for p in model.parameters()) / 1e9:.2f} B params")

    def timed_generate(ids, new_tokens):
        torch.cuda.synchronize()
        s = time.time()
        with torch.no_grad():
            model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                           min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
        torch.cuda.synchronize()
        return time.time() - s

    for b in args.batch:
        ids = torch.randint(3, cfg.vocab_size, (b, args.ctx), device="cuda")
        timed_generate(ids[:, :16], 2)  # warm-up
        prefill = timed_generate(ids, 1)
        total = timed_generate(ids, args.tokens + 1)
        decode = max(total - prefill, 1e-9)
        tps = b * args.tokens / decode
        line = (f"RESULT transformers bf16 batch {b} ctx {args.ctx}: decode {tps:.1f} tok/s "
                f"({1000 * decode / args.tokens:.2f} ms/step); prefill {args.ctx} tokens x {b} in {prefill:.3f} s")
        print(line, flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps({"engine": "transformers", "type": "bf16", "batch": b, "ctx": args.ctx,
                                    "decode_tok_s": tps, "ms_per_step": 1000 * decode / args.tokens,
                                    "prefill_s": prefill}) + "\n")
        del ids
        torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
