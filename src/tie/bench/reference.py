"""LLaDA's reference sampler re-implemented plainly (research/decoders.md section 2): the one
oracle that `tie-bench` times against our decoder and `tests/decoding` checks it against.

Written the way the authors' `generate.py` works, not the way our decoder does: every step runs
the model on the whole canvas, takes the argmax and its softmax probability at *every* position,
hides positions past the current block and unmasked positions, and commits each row's top-quota
positions with a per-row `topk` loop; the quota is fixed at block start; zero-quota steps still
run their forward pass. Greedy (temperature 0), low-confidence remasking, no CFG, no EOS options:
the setting our decoder must match token for token. Like `generate.py` it may commit the mask id
as a token (the position stays masked, the step's quota is spent); our decoder follows it within
the block and then finishes the block (docs/CONTRACTS.md, "Deviations from the reference code"),
so outputs differ only where a model predicts the mask id. The softmax is over the backend's
float32 logits (`MDLMBackend.logits`), where `generate.py` takes it in the model's dtype.
"""

from __future__ import annotations

import torch


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids [B, P], attention_mask [B, P]): the prompts left-padded, as `generate.py` takes them."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    am = torch.zeros_like(ids)
    for r, p in enumerate(prompts):
        ids[r, width - len(p) :] = torch.tensor(p, dtype=torch.long)
        am[r, width - len(p) :] = 1
    return ids, am


def quota_table(block_masks: torch.Tensor, steps: int) -> torch.Tensor:
    """[B, steps] tokens to commit per step: n // steps each, the remainder on the first steps."""
    base = block_masks // steps
    rem = block_masks % steps
    out = base[:, None].repeat(1, steps)
    out += (torch.arange(steps, device=block_masks.device)[None] < rem[:, None]).long()
    return out


@torch.inference_mode()
def llada_reference_generate(
    backend,
    prompt: torch.Tensor,
    attention_mask: torch.Tensor,
    gen_length: int,
    block_length: int,
    steps: int,
) -> tuple[torch.Tensor, int]:
    """Decode left-padded `prompt` [B, P]; returns (canvas [B, P + G], forward passes run)."""
    mask_id = int(backend.mask_id)
    b, p = prompt.shape
    dev = backend.device
    x = torch.full((b, p + gen_length), mask_id, dtype=torch.long, device=dev)
    x[:, :p] = prompt.to(dev)
    am = torch.cat(
        [attention_mask.to(dev).long(), torch.ones(b, gen_length, dtype=torch.long, device=dev)], 1
    )
    if gen_length % block_length or steps % (gen_length // block_length):
        raise ValueError("gen_length must be a multiple of block_length, steps of the block count")
    num_blocks = gen_length // block_length
    spb = steps // num_blocks
    forwards = 0
    for blk in range(num_blocks):
        end = p + (blk + 1) * block_length
        quota = quota_table((x[:, end - block_length : end] == mask_id).sum(1), spb)
        for i in range(spb):
            masked = x == mask_id
            logits = backend.logits(x, am)
            forwards += 1
            x0 = logits.argmax(-1)
            conf = torch.softmax(logits.float(), dim=-1).gather(-1, x0[..., None]).squeeze(-1)
            conf[:, end:] = float("-inf")
            conf = torch.where(masked, conf, torch.full_like(conf, float("-inf")))
            x0 = torch.where(masked, x0, x)
            commit = torch.zeros_like(masked)
            for row in range(b):
                k = int(quota[row, i])
                if k:
                    commit[row, torch.topk(conf[row], k).indices] = True
            x[commit] = x0[commit]
    return x, forwards
