#!/usr/bin/python3
"""Reference recipe of one SAMRI training step, in PyTorch.

A self-contained port of Segment Anything's PromptEncoder and MaskDecoder
(TwoWayTransformer, downsampling Attention, MLP, LayerNorm2d,
PositionEmbeddingRandom), written to follow the official
facebookresearch/segment-anything modules: same arithmetic, same parameter and
buffer names (``prompt_encoder.*`` / ``mask_decoder.*`` state_dict keys), so an
official SAM checkpoint loads with a strict ``load_state_dict``.

One training step ("SAMRI recipe"):
  * precomputed image embeddings (B, C, H, W), each paired with one box
    prompt (B, 4) in input-image pixels, optionally plus one positive point
    per box (points (B, 1, 2), labels ones);
  * frozen prompt encoder (run under ``torch.no_grad``);
  * mask decoder trained alone with AdamW (betas 0.9/0.999, eps 1e-8,
    weight decay 0.1), ``multimask_output=False``;
  * loss on the low-res logits (B, 1, 4H, 4W) against a 0/1 target:
    ``loss = 20 * focal + mean(dice)``, focal with gamma 2 and no alpha.

Modes
  --check-fixtures : replays the training fixtures of tests/data/sam_tiny and
                     fails (exit 1) unless loss, gradients and updated decoder
                     weights match within 1e-5 * max|expected|.
  --bench          : times fp32 (or bf16-autocast) training steps on random
                     data. The random image embeddings / boxes / targets are
                     generated each step from a seeded generator; that time is
                     counted as *data loading* and reported separately
                     (``data_s``); it is NOT part of ``step_s``/``samples_per_s``.

Examples
  /usr/bin/python3 scripts/reference_train_step.py \\
      --check-fixtures tests/data/sam_tiny/expected.pth \\
      --checkpoint tests/data/sam_tiny/sam_tiny.pth \\
      --model tests/data/sam_tiny/sam_tiny.json

  /usr/bin/python3 scripts/reference_train_step.py --bench \\
      --model configs/sam_vit_b.json --batch 8 --steps 10 --warmup 2 --threads 2
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
import traceback
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


# ---------------------------------------------------------------------------
# common.py
# ---------------------------------------------------------------------------
class MLPBlock(nn.Module):
    """lin1 -> act -> lin2 (the transformer block's MLP)."""

    def __init__(self, embedding_dim: int, mlp_dim: int, act=nn.GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(embedding_dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, embedding_dim)
        self.act = act()

    def forward(self, x: Tensor) -> Tensor:
        return self.lin2(self.act(self.lin1(x)))


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel dim of an NCHW tensor (biased variance)."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


# ---------------------------------------------------------------------------
# transformer.py
# ---------------------------------------------------------------------------
class Attention(nn.Module):
    """Multi-head attention whose q/k/v projections may shrink the width by
    ``downsample_rate`` before the heads are split."""

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.internal_dim = embedding_dim // downsample_rate
        self.num_heads = num_heads
        if self.internal_dim % num_heads != 0:
            raise ValueError("num_heads must divide embedding_dim // downsample_rate")
        self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.k_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.v_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.out_proj = nn.Linear(self.internal_dim, embedding_dim)

    @staticmethod
    def _split(x: Tensor, heads: int) -> Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, heads, c // heads).transpose(1, 2)

    @staticmethod
    def _merge(x: Tensor) -> Tensor:
        b, h, n, c = x.shape
        return x.transpose(1, 2).reshape(b, n, h * c)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        q = self._split(self.q_proj(q), self.num_heads)
        k = self._split(self.k_proj(k), self.num_heads)
        v = self._split(self.v_proj(v), self.num_heads)
        c_per_head = q.shape[-1]
        attn = (q @ k.permute(0, 1, 3, 2)) / math.sqrt(c_per_head)
        attn = torch.softmax(attn, dim=-1)
        return self.out_proj(self._merge(attn @ v))


class TwoWayAttentionBlock(nn.Module):
    def __init__(self, embedding_dim: int, num_heads: int, mlp_dim: int,
                 activation=nn.ReLU, attention_downsample_rate: int = 2,
                 skip_first_layer_pe: bool = False) -> None:
        super().__init__()
        self.self_attn = Attention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLPBlock(embedding_dim, mlp_dim, activation)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries: Tensor, keys: Tensor, query_pe: Tensor,
                key_pe: Tensor) -> Tuple[Tensor, Tensor]:
        # (1) token self-attention; the first layer has no residual and no PE
        if self.skip_first_layer_pe:
            queries = self.self_attn(q=queries, k=queries, v=queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q=q, k=q, v=queries)
        queries = self.norm1(queries)
        # (2) tokens -> image
        q = queries + query_pe
        k = keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q=q, k=k, v=keys))
        # (3) MLP on tokens
        queries = self.norm3(queries + self.mlp(queries))
        # (4) image -> tokens
        q = queries + query_pe
        k = keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(q=k, k=q, v=queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self, depth: int, embedding_dim: int, num_heads: int, mlp_dim: int,
                 activation=nn.ReLU, attention_downsample_rate: int = 2) -> None:
        super().__init__()
        self.depth = depth
        self.embedding_dim = embedding_dim
        self.num_heads = num_heads
        self.mlp_dim = mlp_dim
        self.layers = nn.ModuleList([
            TwoWayAttentionBlock(embedding_dim, num_heads, mlp_dim, activation,
                                 attention_downsample_rate, skip_first_layer_pe=(i == 0))
            for i in range(depth)
        ])
        self.final_attn_token_to_image = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def forward(self, image_embedding: Tensor, image_pe: Tensor,
                point_embedding: Tensor) -> Tuple[Tensor, Tensor]:
        keys = image_embedding.flatten(2).permute(0, 2, 1)   # B x HW x C
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries=queries, keys=keys,
                                  query_pe=point_embedding, key_pe=key_pe)
        q = queries + point_embedding
        k = keys + key_pe
        queries = self.norm_final_attn(
            queries + self.final_attn_token_to_image(q=q, k=k, v=keys))
        return queries, keys


# ---------------------------------------------------------------------------
# mask_decoder.py
# ---------------------------------------------------------------------------
class MLP(nn.Module):
    """num_layers Linear layers with ReLU between them (not after the last)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int,
                 num_layers: int, sigmoid_output: bool = False) -> None:
        super().__init__()
        self.num_layers = num_layers
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims_in, dims_out))
        self.sigmoid_output = sigmoid_output

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < self.num_layers - 1:
                x = F.relu(x)
        if self.sigmoid_output:
            x = torch.sigmoid(x)
        return x


class MaskDecoder(nn.Module):
    def __init__(self, *, transformer_dim: int, transformer: nn.Module,
                 num_multimask_outputs: int = 3, activation=nn.GELU,
                 iou_head_depth: int = 3, iou_head_hidden_dim: int = 256) -> None:
        super().__init__()
        self.transformer_dim = transformer_dim
        self.transformer = transformer
        self.num_multimask_outputs = num_multimask_outputs
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.num_mask_tokens = num_multimask_outputs + 1
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            activation(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2),
            activation(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList([
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3)
            for _ in range(self.num_mask_tokens)
        ])
        self.iou_prediction_head = MLP(transformer_dim, iou_head_hidden_dim,
                                       self.num_mask_tokens, iou_head_depth)

    def forward(self, image_embeddings: Tensor, image_pe: Tensor,
                sparse_prompt_embeddings: Tensor, dense_prompt_embeddings: Tensor,
                multimask_output: bool) -> Tuple[Tensor, Tensor]:
        masks, iou_pred = self.predict_masks(image_embeddings, image_pe,
                                             sparse_prompt_embeddings,
                                             dense_prompt_embeddings)
        sl = slice(1, None) if multimask_output else slice(0, 1)
        return masks[:, sl, :, :], iou_pred[:, sl]

    def predict_masks(self, image_embeddings: Tensor, image_pe: Tensor,
                      sparse_prompt_embeddings: Tensor,
                      dense_prompt_embeddings: Tensor) -> Tuple[Tensor, Tensor]:
        output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        output_tokens = output_tokens.unsqueeze(0).expand(sparse_prompt_embeddings.size(0), -1, -1)
        tokens = torch.cat((output_tokens, sparse_prompt_embeddings), dim=1)

        n = tokens.shape[0]
        if image_embeddings.shape[0] == n:
            # Training layout: embedding i is paired with prompt i.
            src = image_embeddings
        else:
            # Official layout: one image, n prompts.
            src = torch.repeat_interleave(image_embeddings, n, dim=0)
        src = src + dense_prompt_embeddings
        pos_src = torch.repeat_interleave(image_pe, n, dim=0) if image_pe.shape[0] != n else image_pe
        b, c, h, w = src.shape

        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1:(1 + self.num_mask_tokens), :]

        src = src.transpose(1, 2).reshape(b, c, h, w)
        upscaled = self.output_upscaling(src)
        hyper_in_list: List[Tensor] = [
            self.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :])
            for i in range(self.num_mask_tokens)
        ]
        hyper_in = torch.stack(hyper_in_list, dim=1)
        b, c, h, w = upscaled.shape
        masks = (hyper_in @ upscaled.reshape(b, c, h * w)).reshape(b, -1, h, w)
        iou_pred = self.iou_prediction_head(iou_token_out)
        return masks, iou_pred


# ---------------------------------------------------------------------------
# prompt_encoder.py
# ---------------------------------------------------------------------------
class PositionEmbeddingRandom(nn.Module):
    """Random-Fourier-feature positional encoding."""

    def __init__(self, num_pos_feats: int = 64, scale: Optional[float] = None) -> None:
        super().__init__()
        if scale is None or scale <= 0.0:
            scale = 1.0
        self.register_buffer("positional_encoding_gaussian_matrix",
                             scale * torch.randn((2, num_pos_feats)))

    def _pe_encoding(self, coords: Tensor) -> Tensor:
        coords = 2 * coords - 1
        coords = coords @ self.positional_encoding_gaussian_matrix
        coords = 2 * np.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def forward(self, size: Tuple[int, int]) -> Tensor:
        h, w = size
        grid = torch.ones((h, w), device=self.positional_encoding_gaussian_matrix.device,
                          dtype=torch.float32)
        y = (grid.cumsum(dim=0) - 0.5) / h
        x = (grid.cumsum(dim=1) - 0.5) / w
        return self._pe_encoding(torch.stack([x, y], dim=-1)).permute(2, 0, 1)  # C,H,W

    def forward_with_coords(self, coords_input: Tensor, image_size: Tuple[int, int]) -> Tensor:
        coords = coords_input.clone()
        coords[:, :, 0] = coords[:, :, 0] / image_size[1]
        coords[:, :, 1] = coords[:, :, 1] / image_size[0]
        return self._pe_encoding(coords.to(torch.float))


class PromptEncoder(nn.Module):
    def __init__(self, embed_dim: int, image_embedding_size: Tuple[int, int],
                 input_image_size: Tuple[int, int], mask_in_chans: int,
                 activation=nn.GELU) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.input_image_size = tuple(input_image_size)
        self.image_embedding_size = tuple(image_embedding_size)
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        self.num_point_embeddings = 4  # negative, positive, box corner 1, box corner 2
        self.point_embeddings = nn.ModuleList(
            [nn.Embedding(1, embed_dim) for _ in range(self.num_point_embeddings)])
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            activation(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            activation(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def get_dense_pe(self) -> Tensor:
        return self.pe_layer(self.image_embedding_size).unsqueeze(0)

    def _embed_points(self, points: Tensor, labels: Tensor, pad: bool) -> Tensor:
        points = points + 0.5
        if pad:
            points = torch.cat([points, torch.zeros((points.shape[0], 1, 2), device=points.device)], dim=1)
            labels = torch.cat([labels, -torch.ones((labels.shape[0], 1), device=labels.device,
                                                    dtype=labels.dtype)], dim=1)
        emb = self.pe_layer.forward_with_coords(points, self.input_image_size)
        emb[labels == -1] = 0.0
        emb[labels == -1] += self.not_a_point_embed.weight
        emb[labels == 0] += self.point_embeddings[0].weight
        emb[labels == 1] += self.point_embeddings[1].weight
        return emb

    def _embed_boxes(self, boxes: Tensor) -> Tensor:
        boxes = boxes + 0.5
        coords = boxes.reshape(-1, 2, 2)
        emb = self.pe_layer.forward_with_coords(coords, self.input_image_size)
        emb[:, 0, :] += self.point_embeddings[2].weight
        emb[:, 1, :] += self.point_embeddings[3].weight
        return emb

    def forward(self, points: Optional[Tuple[Tensor, Tensor]], boxes: Optional[Tensor],
                masks: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        if points is not None:
            bs = points[0].shape[0]
        elif boxes is not None:
            bs = boxes.shape[0]
        elif masks is not None:
            bs = masks.shape[0]
        else:
            bs = 1
        dev = self.point_embeddings[0].weight.device
        sparse = torch.empty((bs, 0, self.embed_dim), device=dev)
        if points is not None:
            sparse = torch.cat([sparse, self._embed_points(points[0], points[1], pad=boxes is None)], dim=1)
        if boxes is not None:
            sparse = torch.cat([sparse, self._embed_boxes(boxes)], dim=1)
        if masks is not None:
            dense = self.mask_downscaling(masks)
        else:
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(
                bs, -1, self.image_embedding_size[0], self.image_embedding_size[1])
        return sparse, dense


# ---------------------------------------------------------------------------
# model / checkpoint
# ---------------------------------------------------------------------------
class SamPromptDecoder(nn.Module):
    """Holds ``prompt_encoder`` and ``mask_decoder`` under the official names."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        pe = cfg["prompt_encoder"]
        md = cfg["mask_decoder"]
        self.prompt_encoder = PromptEncoder(
            embed_dim=pe["embed_dim"],
            image_embedding_size=tuple(pe["image_embedding_size"]),
            input_image_size=tuple(pe["input_image_size"]),
            mask_in_chans=pe["mask_in_chans"])
        self.mask_decoder = MaskDecoder(
            transformer_dim=md["transformer_dim"],
            transformer=TwoWayTransformer(
                depth=md["transformer_depth"],
                embedding_dim=md["transformer_dim"],
                num_heads=md["transformer_num_heads"],
                mlp_dim=md["transformer_mlp_dim"],
                attention_downsample_rate=md.get("attention_downsample_rate", 2)),
            num_multimask_outputs=md.get("num_multimask_outputs", 3),
            iou_head_depth=md.get("iou_head_depth", 3),
            iou_head_hidden_dim=md.get("iou_head_hidden_dim", 256))


def torch_load(path: str):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch without weights_only
        return torch.load(path, map_location="cpu")


def load_checkpoint(model: SamPromptDecoder, path: str) -> None:
    sd = torch_load(path)
    for wrap in ("model", "state_dict"):
        if isinstance(sd, dict) and wrap in sd and isinstance(sd[wrap], dict):
            sd = sd[wrap]
    sub = {k: v.float() if torch.is_floating_point(v) else v for k, v in sd.items()
           if k.startswith("prompt_encoder.") or k.startswith("mask_decoder.")}
    model.load_state_dict(sub, strict=True)


# ---------------------------------------------------------------------------
# the training step
# ---------------------------------------------------------------------------
def focal_dice_loss(logits: Tensor, target: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    logits = logits.float()
    prob = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = prob * target + (1 - prob) * (1 - target)
    focal = ((1 - p_t) ** 2 * ce).mean()
    inter = (prob * target).sum(dim=(1, 2, 3))
    denom = (prob * prob).sum(dim=(1, 2, 3)) + (target * target).sum(dim=(1, 2, 3))
    dice = (1 - (2 * inter + 1e-5) / (denom + 1e-5)).mean()
    return 20 * focal + dice, focal, dice


def make_optimizer(model: SamPromptDecoder, lr: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.mask_decoder.parameters(), lr=lr, betas=(0.9, 0.999),
                             eps=1e-8, weight_decay=0.1)


def encode_prompts(model: SamPromptDecoder, boxes: Tensor, points: Optional[Tensor],
                   labels: Optional[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
    with torch.no_grad():
        pts = (points, labels) if points is not None else None
        sparse, dense = model.prompt_encoder(points=pts, boxes=boxes, masks=None)
        image_pe = model.prompt_encoder.get_dense_pe()
    return sparse, dense, image_pe


def train_step(model, opt, emb, boxes, target, points=None, labels=None,
               autocast_dtype=None, timer: Optional[dict] = None):
    """One reference step; returns (loss, focal, dice) detached.
    Leaves gradients in the decoder parameters (opt.zero_grad before backward)."""
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    sparse, dense, image_pe = encode_prompts(model, boxes, points, labels)
    if autocast_dtype is not None:
        with torch.autocast("cpu", dtype=autocast_dtype):
            logits, _ = model.mask_decoder(emb, image_pe, sparse, dense, multimask_output=False)
    else:
        logits, _ = model.mask_decoder(emb, image_pe, sparse, dense, multimask_output=False)
    t1 = time.perf_counter()
    loss, focal, dice = focal_dice_loss(logits, target)
    t2 = time.perf_counter()
    loss.backward()
    t3 = time.perf_counter()
    opt.step()
    t4 = time.perf_counter()
    if timer is not None:
        for k, dt in (("forward", t1 - t0), ("loss", t2 - t1), ("backward", t3 - t2),
                      ("optimizer", t4 - t3)):
            timer[k] = timer.get(k, 0.0) + dt
    return loss.detach(), focal.detach(), dice.detach()


# ---------------------------------------------------------------------------
# modes
# ---------------------------------------------------------------------------
def max_diff(a: Tensor, b: Tensor) -> Tuple[float, float]:
    a = a.detach().float().reshape(-1)
    b = b.detach().float().reshape(-1)
    if a.numel() != b.numel():
        return float("inf"), float(b.abs().max())
    return float((a - b).abs().max()), float(b.abs().max())


def check_fixtures(args) -> int:
    cfg = json.load(open(args.model))
    model = SamPromptDecoder(cfg)
    load_checkpoint(model, args.checkpoint)
    exp = torch_load(args.check_fixtures)
    decoder_init = {k: v.clone() for k, v in model.mask_decoder.state_dict().items()}

    failures = 0
    n_checks = 0

    def compare(name: str, got: Tensor, want: Tensor) -> None:
        nonlocal failures, n_checks
        d, m = max_diff(got, want)
        tol = 1e-5 * max(m, 1e-30)
        ok = d <= tol
        n_checks += 1
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {name:<80s} max|diff|={d:.3e} tol={tol:.3e}")

    # Forward-only sanity check against the batched inference fixture, if present.
    if all(k in exp for k in ("batch_embeddings", "batch_boxes", "batch_lowres", "batch_iou")):
        model.eval()
        with torch.no_grad():
            sp, de, pe = encode_prompts(model, exp["batch_boxes"].float(), None, None)
            lr_masks, iou = model.mask_decoder(exp["batch_embeddings"].float(), pe, sp, de, False)
        compare("batch_lowres (forward)", lr_masks, exp["batch_lowres"])
        compare("batch_iou (forward)", iou, exp["batch_iou"])

    emb = exp["train_embeddings"].float()
    boxes = exp["train_boxes"].float()
    target = exp["train_gt"].float()
    points = exp["train_points"].float()
    labels = exp["train_point_labels"]
    for mode in ("box", "box_point"):
        model.mask_decoder.load_state_dict(decoder_init, strict=True)
        model.train()
        opt = make_optimizer(model, 1e-3)
        use_pts = mode == "box_point"
        loss, focal, dice = train_step(model, opt, emb, boxes, target,
                                       points if use_pts else None,
                                       labels if use_pts else None)
        p = f"train_{mode}_"
        compare(p + "loss", loss, exp[p + "loss"])
        compare(p + "focal", focal, exp[p + "focal"])
        compare(p + "dice", dice, exp[p + "dice"])
        compare(p + "grad_iou_token", model.mask_decoder.iou_token.weight.grad,
                exp[p + "grad_iou_token"])
        compare(p + "grad_upscaling0", model.mask_decoder.output_upscaling[0].weight.grad,
                exp[p + "grad_upscaling0"])
        after = model.mask_decoder.state_dict()
        keys = [k for k in exp if k.startswith(p + "after.mask_decoder.")]
        if not keys:
            print(f"FAIL {p}after.mask_decoder.*: no keys in fixture")
            failures += 1
        for k in keys:
            sub = k[len(p + "after.mask_decoder."):]
            if sub not in after:
                print(f"FAIL {k}: no such decoder parameter")
                failures += 1
                continue
            compare(k, after[sub], exp[k])
        missing = set(after) - {k[len(p + "after.mask_decoder."):] for k in keys}
        if missing:
            print(f"note: {len(missing)} decoder tensors not in fixture for {mode}")
    print(f"{n_checks - failures}/{n_checks} checks passed" + ("" if failures == 0 else f", {failures} FAILED"))
    return 1 if failures else 0


def random_batch(gen: torch.Generator, batch: int, cfg: dict, with_point: bool):
    pe = cfg["prompt_encoder"]
    c = pe["embed_dim"]
    eh, ew = pe["image_embedding_size"]
    ih, iw = pe["input_image_size"]
    mh, mw = 4 * eh, 4 * ew
    emb = torch.randn((batch, c, eh, ew), generator=gen)
    # boxes inside the input image, at least 8 px wide/high
    xy0 = torch.rand((batch, 2), generator=gen) * (torch.tensor([iw, ih]) - 9)
    wh = 8 + torch.rand((batch, 2), generator=gen) * (torch.tensor([iw, ih]) - 1 - xy0 - 8)
    boxes = torch.cat([xy0, xy0 + wh], dim=1).floor()
    # target: the box filled at low-res, with random pixels flipped (10%)
    ys = (torch.arange(mh).float() + 0.5) * ih / mh
    xs = (torch.arange(mw).float() + 0.5) * iw / mw
    inside = ((xs[None, None, :] >= boxes[:, 0, None, None]) & (xs[None, None, :] <= boxes[:, 2, None, None])
              & (ys[None, :, None] >= boxes[:, 1, None, None]) & (ys[None, :, None] <= boxes[:, 3, None, None]))
    flip = torch.rand((batch, mh, mw), generator=gen) < 0.1
    target = (inside ^ flip).float().unsqueeze(1)
    points = labels = None
    if with_point:
        points = ((boxes[:, :2] + boxes[:, 2:]) / 2).unsqueeze(1)
        labels = torch.ones((batch, 1), dtype=torch.int64)
    return emb, boxes, target, points, labels


def peak_rss_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def bench(args) -> int:
    cfg = json.load(open(args.model))
    torch.manual_seed(args.seed)
    model = SamPromptDecoder(cfg)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint)
    model.train()
    init = {k: v.clone() for k, v in model.mask_decoder.state_dict().items()}
    with_point = args.prompt == "box_point"
    precisions = ["fp32"] if args.precision == "fp32" else (
        ["bf16"] if args.precision == "bf16" else ["fp32", "bf16"])
    rc = 0
    for prec in precisions:
        model.mask_decoder.load_state_dict(init)
        opt = make_optimizer(model, args.lr)
        gen = torch.Generator().manual_seed(args.seed)
        dtype = torch.bfloat16 if prec == "bf16" else None
        timer: dict = {}
        data_s = 0.0
        step_s = 0.0
        losses = []
        try:
            for i in range(args.warmup + args.steps):
                td = time.perf_counter()
                batch = random_batch(gen, args.batch, cfg, with_point)
                ts = time.perf_counter()
                timed = i >= args.warmup
                loss, _, _ = train_step(model, opt, batch[0], batch[1], batch[2], batch[3],
                                        batch[4], autocast_dtype=dtype,
                                        timer=timer if timed else None)
                te = time.perf_counter()
                if timed:
                    data_s += ts - td
                    step_s += te - ts
                losses.append(float(loss))
                if not math.isfinite(losses[-1]):
                    raise RuntimeError(f"non-finite loss at step {i}")
        except Exception as ex:  # report, keep going with other precisions
            reason = f"{type(ex).__name__}: {str(ex).splitlines()[0] if str(ex) else ''}"
            ours = [f for f in traceback.extract_tb(ex.__traceback__) if f.filename == __file__]
            if ours:
                reason += f" (at {ours[-1].name}: {ours[-1].line})"
            print(f"reference_train {prec} failed: {reason}")
            rc = 1 if prec == "fp32" else rc
            continue
        n = args.steps
        per = step_s / n
        print(f"reference_train {prec} batch={args.batch} samples_per_s={args.batch / per:.2f} "
              f"step_s={per:.3f} peak_rss_mb={peak_rss_mb()}")
        parts = " ".join(f"{k}={timer[k] / n:.3f}" for k in ("forward", "loss", "backward", "optimizer"))
        print(f"  breakdown (mean of last {n} steps, s): {parts} "
              f"data_s={data_s / n:.3f} (random data generation = data loading, excluded from step_s)")
        print(f"  loss first={losses[0]:.4f} last={losses[-1]:.4f} threads={torch.get_num_threads()} "
              f"prompt={args.prompt} model={cfg.get('name', args.model)}")
    return rc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check-fixtures", metavar="EXPECTED_PTH",
                      help="compare one training step against tests/data/sam_tiny/expected.pth")
    mode.add_argument("--bench", action="store_true", help="time training steps on random data")
    ap.add_argument("--model", required=True, help="model JSON (e.g. configs/sam_vit_b.json)")
    ap.add_argument("--checkpoint", help="SAM .pth (image_encoder.* keys are ignored)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-4, help="bench learning rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--prompt", choices=["box", "box_point"], default="box")
    ap.add_argument("--precision", choices=["fp32", "bf16", "both"], default="fp32")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.check_fixtures:
        if not args.checkpoint:
            ap.error("--check-fixtures needs --checkpoint")
        return check_fixtures(args)
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
