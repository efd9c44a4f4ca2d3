"""Hugging Face backend: batched, KV-cached sampling with a lean decode loop.

What it does that ``model.generate`` does not, for many samples per prompt:

- each prompt is prefilled once and its cache copied to its ``n`` samples;
- continuous batching: finished rows are replaced by waiting prompts, so the batch stays
  full until the work runs out (``generate`` decodes a batch until its longest row ends);
- the key/value cache is written in place in a buffer sized once per batch
  (``kv_cache.py``) instead of concatenated every token;
- sampling is a Gumbel-max draw over the filtered logits, with no logits-processor chain;
- each sample draws from its own random stream, seeded from (seed, prompt key, sample
  number): a prompt's candidates do not depend on the batch size, on the other prompts of
  the call, or on how many processes share the call (``seal.distributed``).
"""

from __future__ import annotations

import hashlib
import inspect
from collections import deque
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from transformers import Cache, PreTrainedModel, PreTrainedTokenizerBase

from seal.batching import model_context
from seal.errors import SealError
from seal.generation.base import Completion, SamplingParams, sample_sharded
from seal.generation.kv_cache import can_merge, concat_right_aligned, new_cache
from seal.progress import progress_bar


@dataclass
class _Row:
    prompt: int
    slot: int
    budget: int
    key: int = 0
    """This sample's random stream (``row_seed``); draw ``t`` is ``uniforms(key, t)``."""
    ids: list[int] = field(default_factory=list)
    text: str = ""
    logprob: float = 0.0


def row_seed(seed: int, key: int, slot: int) -> int:
    """The stream of sample ``slot`` of the prompt with key ``key`` in a call seeded ``seed``
    (63 bits: a valid seed for ``torch.Generator`` and vLLM too)."""
    digest = hashlib.blake2b(f"{seed}:{key}:{slot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _signed(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


_GOLDEN = _signed(0x9E3779B97F4A7C15)
_M1, _M2 = _signed(0xBF58476D1CE4E5B9), _signed(0x94D049BB133111EB)


def _shr(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 (torch's ``>>`` is arithmetic)."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def _mix(x: torch.Tensor) -> torch.Tensor:
    """SplitMix64's finaliser on int64 tensors (multiplication wraps modulo 2**64)."""
    x = (x ^ _shr(x, 30)) * _M1
    x = (x ^ _shr(x, 27)) * _M2
    return x ^ _shr(x, 31)


def uniforms(keys: torch.Tensor, steps: torch.Tensor, vocab: int) -> torch.Tensor:
    """``[len(keys), vocab]`` uniforms in (0, 1): a counter-based draw, a pure function of
    (stream key, step, token id). One vectorised pass for the whole batch, and the same
    numbers on any device and in any batch."""
    v = torch.arange(1, vocab + 1, device=keys.device, dtype=torch.int64)
    row = _mix(keys + steps * _GOLDEN)
    x = _mix(row[:, None] + v[None, :] * _GOLDEN)
    return (_shr(x, 40).float() + 0.5) / float(1 << 24)


@dataclass
class _Batch:
    """Rows decoding together: their shared cache (left-padded, every row ending at the last
    position), attention mask, next position per row and the logits for their next token.
    A finished row stays in place as ``None`` until the batch is next compacted or merged."""

    cache: Cache
    attn: torch.Tensor
    next_pos: torch.Tensor
    logits: torch.Tensor
    rows: list[_Row | None]

    @property
    def live(self) -> list[int]:
        return [i for i, r in enumerate(self.rows) if r is not None]

    def compact(self) -> None:
        """Drop the finished rows (copies the cache: done in bulk, not per row)."""
        keep = self.live
        idx = torch.tensor(keep, device=self.attn.device)
        self.cache.batch_select_indices(idx)
        self.attn, self.next_pos, self.logits = self.attn[idx], self.next_pos[idx], self.logits[idx]
        self.rows = [self.rows[i] for i in keep]

    @staticmethod
    def merge(parts: list[_Batch]) -> _Batch:
        """The live rows of ``parts`` as one batch in a cache with room for all they may add.

        Every row still ends at the last position; columns that are padding for every live
        row are dropped, so the cache is as wide as the longest live row."""
        index = [torch.tensor(p.live, device=p.attn.device) for p in parts]
        pairs = list(zip(parts, index, strict=True))
        rows = [p.rows[i] for p, idx in pairs for i in idx.tolist()]
        width = int(max(p.attn[i].sum(-1).max().item() for p, i in pairs))
        room = max(r.budget - len(r.ids) for r in rows if r is not None)
        cache = concat_right_aligned([p.cache for p in parts], index, width, width + room)
        attn = torch.cat(
            [F.pad(p.attn[i, -width:], (max(0, width - p.attn.shape[1]), 0)) for p, i in pairs]
        )
        return _Batch(
            cache,
            attn,
            torch.cat([p.next_pos[i] for p, i in pairs]),
            torch.cat([p.logits[i] for p, i in pairs]),
            rows,
        )


def filter_logits(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    """Mask logits outside the top-k and the top-p nucleus (always keeps the best token)."""
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        drop = cum - torch.softmax(sorted_logits, dim=-1) >= top_p
        drop[:, 0] = False
        mask = torch.zeros_like(drop).scatter(-1, order, drop)
        logits = logits.masked_fill(mask, float("-inf"))
    return logits


class HFSampler:
    """``Sampler`` over any causal LM (plain or PEFT-wrapped) from ``transformers``."""

    def __init__(
        self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, batch_size: int = 64
    ):
        if batch_size < 1:
            raise SealError(f"batch size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self._pieces: list[str] | None = None
        eos = model.generation_config.eos_token_id if model.generation_config else None
        eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        self.eos_ids = eos_ids
        self.context = model_context(model)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        # transformers 5.2x renamed ``past_key_values`` to ``cache``; accept both.
        params = inspect.signature(base.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _piece(self, token: int) -> str:
        if self._pieces is None:
            n = len(self.tokenizer)
            self._pieces = [self.tokenizer.decode([i]) for i in range(n)]
        return self._pieces[token] if token < len(self._pieces) else ""

    def encode(self, prompts: list[str]) -> list[list[int]]:
        encoded = []
        for i, prompt in enumerate(prompts):
            ids = self.tokenizer(prompt, add_special_tokens=True, verbose=False)["input_ids"]
            if not ids:
                raise SealError(f"prompt {i} encodes to no tokens; give it some text")
            encoded.append(ids)
        return encoded

    def sample(
        self,
        prompts: list[str],
        params: SamplingParams,
        quiet: bool = False,
        keys: list[int] | None = None,
    ) -> list[list[Completion]]:
        """``params.n`` completions per prompt, the same as one process (``sample_sharded``)."""
        return sample_sharded(self._sample, prompts, params, quiet, keys)

    @torch.inference_mode()
    def _sample(
        self, prompts: list[str], params: SamplingParams, quiet: bool, keys: list[int]
    ) -> list[list[Completion]]:
        if params.n < 1:
            raise SealError(f"number of samples must be at least 1, got {params.n}")
        encoded = self.encode(prompts)
        budgets = []
        for ids in encoded:
            budget = min(params.max_new_tokens, self.context - len(ids))
            if budget < 1:
                raise SealError(
                    f"a prompt of {len(ids)} tokens leaves no room to generate in the model's "
                    f"context of {self.context} tokens; shorten the prompt, use fewer --shots or a "
                    "model with a longer context (--model)"
                )
            budgets.append(budget)
        # Work queue of (prompt, first slot, count), shortest prompts first.
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
        queue = deque((p, 0, params.n) for p in order)
        results: list[list[Completion | None]] = [[None] * params.n for _ in prompts]
        total = len(prompts) * params.n
        with progress_bar("sampling", total=total, unit="seqs", quiet=quiet) as bar:
            self._decode(queue, encoded, budgets, params, keys, results, bar)
        return results  # type: ignore[return-value]

    def _take(self, queue: deque, free: int) -> list[tuple[int, int, int]]:
        """Pop up to ``free`` rows of work off the queue, splitting a prompt if needed."""
        units = []
        while queue and free > 0:
            p, start, count = queue.popleft()
            take = min(count, free)
            units.append((p, start, take))
            if take < count:
                queue.appendleft((p, start + take, count - take))
            free -= take
        return units

    def _prefill(self, units, encoded, budgets, params, keys) -> _Batch:
        """Run the prompts of ``units`` once and give each of their samples a copy."""
        device = self.device
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        width = max(len(encoded[p]) for p, _, _ in units)
        ids = torch.full((len(units), width), pad, dtype=torch.long)
        attn = torch.zeros((len(units), width), dtype=torch.long)
        for r, (p, _, _) in enumerate(units):
            ids[r, width - len(encoded[p]) :] = torch.tensor(encoded[p])
            attn[r, width - len(encoded[p]) :] = 1
        ids, attn = ids.to(device), attn.to(device)
        pos = (attn.cumsum(-1) - 1).clamp(min=0)
        cache = new_cache(self.model, width)
        out = self.model(
            input_ids=ids,
            attention_mask=attn,
            position_ids=pos,
            use_cache=True,
            logits_to_keep=1,
            **{self._cache_kw: cache},
        )
        counts = torch.tensor([c for _, _, c in units], device=device)
        expand = torch.repeat_interleave(torch.arange(len(units), device=device), counts)
        cache.batch_select_indices(expand)
        rows = [_Row(p, s + j, budgets[p]) for p, s, c in units for j in range(c)]
        if not params.greedy:
            for row in rows:
                row.key = row_seed(params.seed, keys[row.prompt], row.slot)
        return _Batch(
            cache, attn[expand], pos[:, -1][expand] + 1, out.logits[:, -1, :][expand], rows
        )

    def _decode(self, queue, encoded, budgets, params, keys, results, bar) -> None:
        """Decode until the queue is empty, topping the batch up as rows finish.

        Finished rows are dropped in bulk: when a quarter of the batch is free and work is
        waiting, new prompts are prefilled and merged in with the live rows (one cache
        copy does both); with no work waiting, the batch is compacted once a quarter of it
        is finished. A cache that cannot be merged (sliding-window models) starts a new
        batch only when the last one is done.
        """
        stops = params.stop
        window = max((len(s) for s in stops), default=0) + 16
        quarter = max(1, self.batch_size // 4)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        batch: _Batch | None = None
        while queue or batch is not None:
            if batch is None:
                batch = self._prefill(
                    self._take(queue, self.batch_size), encoded, budgets, params, keys
                )
                if can_merge(batch.cache):
                    batch = _Batch.merge([batch])
            else:
                live = len(batch.live)
                mergeable = can_merge(batch.cache)
                if queue and mergeable and self.batch_size - live >= quarter:
                    fresh = self._prefill(
                        self._take(queue, self.batch_size - live), encoded, budgets, params, keys
                    )
                    batch = _Batch.merge([batch, fresh])
                elif len(batch.rows) - live >= max(1, len(batch.rows) // 4):
                    batch.compact()
            logits = batch.logits.float()
            logp = torch.log_softmax(logits, dim=-1)
            if params.greedy:
                tok = logp.argmax(-1)
            else:
                scaled = filter_logits(logits / params.temperature, params.top_k, params.top_p)
                # Gumbel-max: argmax(logits + G), G = -log(-log U), is a draw from softmax.
                u = self._uniforms(batch.rows, scaled)
                tok = (scaled - u.clamp_(min=1e-20).log_().neg_().log_()).argmax(-1)
            chosen = logp.gather(-1, tok[:, None]).squeeze(-1).tolist()
            toks = tok.tolist()
            for i, row in enumerate(batch.rows):
                if row is None:
                    continue
                t = toks[i]
                reason = None
                if t in self.eos_ids:
                    reason = "eos"
                else:
                    row.ids.append(t)
                    row.logprob += chosen[i]
                    if stops:
                        row.text += self._piece(t)
                        if any(s in row.text[-window:] for s in stops):
                            reason = "stop"
                    if reason is None and len(row.ids) >= row.budget:
                        reason = "length"
                if reason is not None:
                    if reason == "eos":
                        row.logprob += chosen[i]
                    results[row.prompt][row.slot] = self._finish(row, reason, stops)
                    bar.advance(1, tokens=len(row.ids) + (reason == "eos"))
                    batch.rows[i] = None
                    tok[i] = pad
            if all(r is None for r in batch.rows):
                batch = None
                continue
            batch.attn = torch.cat([batch.attn, batch.attn.new_ones((len(batch.rows), 1))], -1)
            out = self.model(
                input_ids=tok[:, None],
                attention_mask=batch.attn,
                position_ids=batch.next_pos[:, None],
                use_cache=True,
                **{self._cache_kw: batch.cache},
            )
            batch.logits = out.logits[:, -1, :]
            batch.next_pos = batch.next_pos + 1

    @staticmethod
    def _uniforms(rows: list[_Row | None], like: torch.Tensor) -> torch.Tensor:
        """Each live row's next draw from its own stream (finished rows: any, ignored)."""
        keys = torch.tensor([r.key if r else 0 for r in rows], dtype=torch.int64)
        steps = torch.tensor([len(r.ids) if r else 0 for r in rows], dtype=torch.int64)
        return uniforms(keys.to(like.device), steps.to(like.device), like.shape[-1])

    def _finish(self, row: _Row, reason: str, stops: tuple[str, ...]) -> Completion:
        text = self.tokenizer.decode(row.ids, skip_special_tokens=True)
        if reason == "stop":
            cut = min((text.find(s) for s in stops if s in text), default=-1)
            if cut >= 0:
                text = text[:cut]
        return Completion(
            text=text,
            num_tokens=len(row.ids) + (reason == "eos"),
            logprob=row.logprob,
            finish_reason=reason,
        )
