"""Causal attention per example inside packed rows, without a dense mask (CPU training).

A packed row holds several examples, each with positions restarting at 0. The generic path turns
that into a (rows, 1, T, T) mask, so sdpa computes all T² scores and cannot take its causal fast
path. Here each example gets its own `is_causal` sdpa call: Σ L²/2 scores instead of T². It is
also exact for right-padded rows (one segment; the padding sits after every real token). Only
for training: it assumes queries and keys cover the same positions (no KV cache, no left padding),
so `segment_attention` switches it on for the loop and restores the model's own attention after.
"""

from __future__ import annotations

from contextlib import contextmanager

NAME = "advise_segments"


def segment_causal_attention(module, query, key, value, attention_mask, dropout: float = 0.0,
                             scaling: float | None = None, position_ids=None, **kwargs):
    """query (B, H, T, D), key/value (B, Hkv, T, D) → (B, T, H, D), like transformers' sdpa function."""
    import torch
    import torch.nn.functional as F

    if position_ids is None or query.shape[2] != key.shape[2]:
        raise RuntimeError("segment attention is for training on full rows (no cache, positions given)")
    gqa = query.shape[1] != key.shape[1]
    rows = []
    for b in range(query.shape[0]):
        starts = (position_ids[b if position_ids.shape[0] > 1 else 0] == 0).nonzero().flatten().tolist()
        if not starts or starts[0] != 0:
            starts = [0, *starts]
        bounds = [*starts, query.shape[2]]
        segments = [F.scaled_dot_product_attention(query[b:b + 1, :, s:e], key[b:b + 1, :, s:e],
                                                   value[b:b + 1, :, s:e], is_causal=True, dropout_p=dropout,
                                                   scale=scaling, enable_gqa=gqa)
                    for s, e in zip(bounds, bounds[1:], strict=False) if e > s]
        rows.append(torch.cat(segments, dim=2))
    return torch.cat(rows, dim=0).transpose(1, 2).contiguous(), None


@contextmanager
def segment_attention(model):
    """Use per-example causal attention on `model` for the duration of the block."""
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, segment_causal_attention)
    configs = [m.config for m in model.modules() if hasattr(m, "config") and hasattr(m.config, "_attn_implementation")]
    previous = [c._attn_implementation for c in configs]
    for c in configs:
        c._attn_implementation = NAME
    try:
        yield
    finally:
        for c, impl in zip(configs, previous, strict=True):
            c._attn_implementation = impl
