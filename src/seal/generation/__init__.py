"""Sampling backends behind one protocol (``Sampler``)."""

from seal.generation.base import Completion, Sampler, SamplingParams

__all__ = ["Completion", "Sampler", "SamplingParams"]
