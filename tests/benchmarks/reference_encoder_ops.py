#!/usr/bin/python3
"""Time the reference SAM ViT image encoder's operations with Debian's python3-torch.

The side-by-side baseline for `samri_bench_encoder`: the same LibTorch, the same machine, the same
minute. It performs the operations of segment_anything's ImageEncoderViT the way that code does
(patch embedding, absolute positions, windowed and global blocks with decomposed relative
positions added through einsum, the neck), with random weights, because the speed does not depend
on the values. Written for this project from SAM's published architecture; not the reference code.

Usage: reference_encoder_ops.py [runs] [threads]   (OPENBLAS_CORETYPE is honoured as usual)
"""
import sys
import time

import torch
import torch.nn.functional as F

EMBED, DEPTH, HEADS, WINDOW, GLOBAL = 768, 12, 12, 14, (2, 5, 8, 11)  # ViT-B
GRID, HEAD_DIM = 64, EMBED // HEADS


def rel_pos_table(size):
    """Rows of a (2*size-1, head_dim) table indexed by query minus key position."""
    table = torch.randn(2 * size - 1, HEAD_DIM) * 0.02
    coords = torch.arange(size)[:, None] - torch.arange(size)[None, :] + (size - 1)
    return table[coords.long()]


def attention(x, weights):
    b, h, w, _ = x.shape
    qkv = F.linear(x, weights["qkv_w"], weights["qkv_b"])
    qkv = qkv.reshape(b, h * w, 3, HEADS, -1).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.reshape(3, b * HEADS, h * w, -1).unbind(0)
    attn = (q * HEAD_DIM**-0.5) @ k.transpose(-2, -1)
    rh, rw = rel_pos_table(h), rel_pos_table(w)
    r_q = q.reshape(b * HEADS, h, w, HEAD_DIM)
    rel_h = torch.einsum("bhwc,hkc->bhwk", r_q, rh)
    rel_w = torch.einsum("bhwc,wkc->bhwk", r_q, rw)
    attn = (attn.view(b * HEADS, h, w, h, w) + rel_h[:, :, :, :, None] +
            rel_w[:, :, :, None, :]).view(b * HEADS, h * w, h * w)
    attn = attn.softmax(dim=-1)
    out = (attn @ v).view(b, HEADS, h, w, -1).permute(0, 2, 3, 1, 4).reshape(b, h, w, -1)
    return F.linear(out, weights["proj_w"], weights["proj_b"])


def window_partition(x):
    b, h, w, c = x.shape
    ph, pw = (WINDOW - h % WINDOW) % WINDOW, (WINDOW - w % WINDOW) % WINDOW
    x = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    x = x.view(b, hp // WINDOW, WINDOW, wp // WINDOW, WINDOW, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, WINDOW, WINDOW, c), (hp, wp)


def window_unpartition(windows, hp_wp, hw):
    (hp, wp), (h, w) = hp_wp, hw
    b = windows.shape[0] // (hp * wp // WINDOW // WINDOW)
    x = windows.view(b, hp // WINDOW, wp // WINDOW, WINDOW, WINDOW, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :].contiguous()


def block(x, weights, windowed):
    shortcut = x
    x = F.layer_norm(x, (EMBED,))
    if windowed:
        hw = x.shape[1:3]
        x, pad = window_partition(x)
    x = attention(x, weights)
    if windowed:
        x = window_unpartition(x, pad, hw)
    x = shortcut + x
    hidden = F.gelu(F.linear(F.layer_norm(x, (EMBED,)), weights["lin1_w"], weights["lin1_b"]))
    return x + F.linear(hidden, weights["lin2_w"], weights["lin2_b"])


def layer_norm_2d(x):
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    return (x - u) / torch.sqrt(s + 1e-6)


def encoder(image, params):
    x = F.conv2d(image, params["patch_w"], params["patch_b"], stride=16).permute(0, 2, 3, 1)
    x = x + params["pos"]
    for i in range(DEPTH):
        x = block(x, params["blocks"][i], i not in GLOBAL)
    x = layer_norm_2d(F.conv2d(x.permute(0, 3, 1, 2), params["neck1"]))
    return layer_norm_2d(F.conv2d(x, params["neck2"], padding=1))


def random_params():
    def lin(out, inp):
        return torch.randn(out, inp) * inp**-0.5, torch.zeros(out)

    blocks = []
    for _ in range(DEPTH):
        w = {}
        w["qkv_w"], w["qkv_b"] = lin(3 * EMBED, EMBED)
        w["proj_w"], w["proj_b"] = lin(EMBED, EMBED)
        w["lin1_w"], w["lin1_b"] = lin(4 * EMBED, EMBED)
        w["lin2_w"], w["lin2_b"] = lin(EMBED, 4 * EMBED)
        blocks.append(w)
    return {"patch_w": torch.randn(EMBED, 3, 16, 16) * 0.02, "patch_b": torch.zeros(EMBED),
            "pos": torch.randn(1, GRID, GRID, EMBED) * 0.02, "blocks": blocks,
            "neck1": torch.randn(256, EMBED, 1, 1) * 0.02, "neck2": torch.randn(256, 256, 3, 3) * 0.02}


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    if len(sys.argv) > 2:
        torch.set_num_threads(int(sys.argv[2]))
    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    params, image = random_params(), torch.randn(1, 3, 1024, 1024)
    for name, autocast in (("fp32", False), ("bf16 autocast", True)):
        times = []
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            for _ in range(runs):
                start = time.perf_counter()
                encoder(image, params)
                times.append(time.perf_counter() - start)
        times.sort()
        print(f"reference ops vit_b {name}: best {times[0]:.3f} s, median "
              f"{times[len(times) // 2]:.3f} s over {runs} runs")


if __name__ == "__main__":
    main()
