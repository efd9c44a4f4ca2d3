"""A key/value cache that is allocated once per batch instead of grown token by token.

``transformers``' ``DynamicCache`` concatenates each new token's keys and values onto the
whole cache, so decoding ``L`` tokens copies O(L^2) memory; on CPU with a small model that
copy was a third of the sampler's time. The sampler knows the most tokens a batch can
reach (prompt width + max new tokens), so this cache reserves that room at the first
update and then writes each step in place, handing attention a view of the filled part.

Only plain full-attention decoders are served this way; a model with sliding-window,
chunked or shared-KV layers gets the library's ``DynamicCache`` built from its config.
"""

from __future__ import annotations

import torch
from transformers import Cache, DynamicCache, PreTrainedModel
from transformers.cache_utils import DynamicLayer


class PreallocatedLayer(DynamicLayer):
    """One layer's keys/values in a buffer of fixed capacity, filled left to right."""

    def __init__(self, capacity: int):
        super().__init__()
        self.capacity = capacity
        self.length = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        b, h, _, d = key_states.shape
        self.device = key_states.device
        self._k = key_states.new_empty((b, h, self.capacity, d))
        self._v = value_states.new_empty((b, h, self.capacity, value_states.shape[-1]))
        self.is_initialized = True
        self._views()

    def _views(self) -> None:
        self.keys = self._k[:, :, : self.length]
        self.values = self._v[:, :, : self.length]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        new = key_states.shape[-2]
        end = self.length + new
        if end > self.capacity:
            raise RuntimeError(f"KV cache of {self.capacity} positions is full")
        self._k[:, :, self.length : end] = key_states
        self._v[:, :, self.length : end] = value_states
        self.length = end
        self._views()
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.is_initialized:
            self._k = self._k[indices]
            self._v = self._v[indices]
            self._views()

    def batch_repeat_interleave(self, repeats: int) -> None:
        if self.is_initialized:
            self._k = self._k.repeat_interleave(repeats, dim=0)
            self._v = self._v.repeat_interleave(repeats, dim=0)
            self._views()

    def crop(self, tokens_to_remove: int) -> None:
        if tokens_to_remove < 0:
            self.length = max(0, self.length + tokens_to_remove)
            if self.is_initialized:
                self._views()
        else:
            super().crop(tokens_to_remove)

    def reset(self) -> None:
        self.length = 0
        if self.is_initialized:
            self._views()


def _plain_decoder_layers(model: PreTrainedModel) -> int | None:
    """Number of layers if every one is a plain full-attention layer, else None."""
    config = model.config.get_text_config(decoder=True)
    n = getattr(config, "num_hidden_layers", None)
    if not n:
        return None
    types = getattr(config, "layer_types", None)
    if types is not None:
        return n if all(t == "full_attention" for t in types) else None
    if any(
        getattr(config, attr, None) is not None
        for attr in ("sliding_window", "attention_chunk_size", "kv_sharing_modes")
    ):
        return None
    return n


def new_cache(model: PreTrainedModel, capacity: int) -> Cache:
    """A cache for one batch that will hold at most ``capacity`` positions."""
    n = _plain_decoder_layers(model)
    if n is None:
        return DynamicCache(config=model.config)
    return Cache(layers=[PreallocatedLayer(capacity) for _ in range(n)])


def can_merge(cache: Cache) -> bool:
    """Whether rows of this cache can be joined with another batch's (see below)."""
    return bool(cache.layers) and all(isinstance(x, PreallocatedLayer) for x in cache.layers)


def concat_right_aligned(
    caches: list[Cache], index: list[torch.Tensor], width: int, capacity: int
) -> Cache:
    """Stack rows ``index[i]`` of each of ``caches`` into one cache ``width`` positions long
    with room for ``capacity``.

    Every cache holds left-padded rows that end at its last position, so taking each one's
    last ``width`` positions (or left-padding it up to ``width``) keeps all live keys and
    values, each row still ending at the last position; the attention mask, built the same
    way, hides the padding. The padding is zeros, not empty memory: a masked NaN would still
    poison attention's weighted sum.
    """
    layers = []
    for group in zip(*(c.layers for c in caches), strict=True):
        k0, v0 = group[0]._k, group[0]._v
        rows = sum(len(i) for i in index)
        k = k0.new_empty((rows, k0.shape[1], capacity, k0.shape[3]))
        v = v0.new_empty((rows, v0.shape[1], capacity, v0.shape[3]))
        r = 0
        for x, idx in zip(group, index, strict=True):
            n, keep = len(idx), min(width, x.length)
            k[r : r + n, :, : width - keep] = 0
            v[r : r + n, :, : width - keep] = 0
            k[r : r + n, :, width - keep : width] = x._k[idx, :, x.length - keep : x.length]
            v[r : r + n, :, width - keep : width] = x._v[idx, :, x.length - keep : x.length]
            r += n
        layer = PreallocatedLayer(capacity)
        layer._k, layer._v, layer.length = k, v, width
        layer.device, layer.is_initialized = k.device, True
        layer._views()
        layers.append(layer)
    return Cache(layers=layers)
